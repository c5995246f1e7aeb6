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
}

/** What a form shows for a failed save: messages beside its fields, and one line above them. */
export interface FormErrors<Field extends string> {
  fields: Partial<Record<Field, string>>;
  form?: string;
}

/**
 * The API's per-field errors placed on the form's fields: `apiFields` names the API field each
 * form field stands for (`price` → `price_cents`); an error on an element of a list field
 * (`product_ids.0`) counts for the list.
 */
export function formErrors<Field extends string>(
  failure: unknown,
  apiFields: Readonly<Record<Field, string>>,
): FormErrors<Field> {
  if (!(failure instanceof ApiError)) return { fields: {}, form: String(failure) };
  const fields: Partial<Record<Field, string>> = {};
  for (const [field, apiField] of Object.entries(apiFields) as [Field, string][]) {
    const found = failure.fieldErrors.find(
      (error) => error.field === apiField || error.field.startsWith(`${apiField}.`),
    );
    if (found !== undefined) fields[field] = found.message;
  }
  const form = Object.keys(fields).length === 0 ? failure.message : "Please correct the fields marked below.";
  return { fields, form };
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
