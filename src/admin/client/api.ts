/**
 * The one way the UI reaches the platform: the public REST API on this origin, with the signed-in
 * bearer token. Errors arrive as problem+json and become an ApiError that keeps the per-field
 * messages, so a form can show each beside its field.
 */

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fieldErrors: readonly FieldError[] = [],
  ) {
    super(message);
  }

  /** The message for one field (`price_cents`), if the API named it. */
  forField(field: string): string | undefined {
    return this.fieldErrors.find((error) => error.field === field)?.message;
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface Api {
  readonly token: string;
  get<T>(path: string, query?: Query): Promise<T>;
  send<T>(method: "POST" | "PATCH" | "PUT" | "DELETE", path: string, body?: unknown): Promise<T>;
}

export function createApi(token: string): Api {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, "unavailable", "The platform cannot be reached. Is it running?");
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    const json = text === "" ? undefined : safeJson(text);
    if (response.ok) return json as T;
    const problem = (json ?? {}) as { code?: string; detail?: string; errors?: FieldError[] };
    throw new ApiError(
      response.status,
      problem.code ?? "unknown",
      problem.detail ?? `${method} ${path} failed with status ${response.status}`,
      problem.errors ?? [],
    );
  };
  return {
    token,
    get: (path, query) => call("GET", path + queryString(query)),
    send: (method, path, body) => call(method, path, body),
  };
}

/** `?a=1&b=x` of the defined, non-empty values; "" when there are none. */
export function queryString(query: Query | undefined): string {
  if (query === undefined) return "";
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== "" && value !== false) params.set(name, String(value));
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
