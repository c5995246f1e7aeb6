/**
 * A small fetch wrapper for end-to-end tests: one call, the status, headers, raw text and (when
 * the response is JSON) the parsed body, so a test can assert on the wire format as well as values.
 */

export interface HttpCallOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Serialized with JSON.stringify and sent as application/json. */
  json?: unknown;
  /** Sent as-is (with `content-type: application/json` unless headers say otherwise). */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body when the response is JSON (including problem+json), else undefined. */
  body: unknown;
}

export async function httpCall(
  baseUrl: string,
  method: string,
  path: string,
  options: HttpCallOptions = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (options.json !== undefined) body = JSON.stringify(options.json);
  if (options.rawBody !== undefined) body = options.rawBody;
  if (body !== undefined) headers["content-type"] = "application/json";
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  Object.assign(headers, options.headers);
  const response = await fetch(new URL(path, baseUrl), { method, headers, body });
  const text = await response.text();
  const contentType = response.headers.get("content-type") ?? "";
  const isJson = /^application\/(problem\+)?json\b/.test(contentType);
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: isJson && text !== "" ? JSON.parse(text) : undefined,
  };
}
