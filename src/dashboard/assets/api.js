// Talking to the dashboard's JSON API: GETs, and POSTs with the CSRF token from /api/meta.

const base = document.body.dataset.base ?? "";
let csrfToken;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method === "POST") {
    headers["X-Asynq-Csrf"] = csrfToken ?? "";
    if (body !== undefined) headers["Content-Type"] = "application/json";
  }
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (res.status === 204) return undefined;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const error = data.error ?? { code: "ERR_HTTP", message: res.statusText };
    throw new ApiError(res.status, error.code, error.message);
  }
  return data;
}

export async function loadMeta() {
  const meta = await call("GET", "/api/meta");
  csrfToken = meta.csrfToken;
  return meta;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body);

/** `/api/queues/<queue>` with the name escaped. */
export function queuePath(queue, ...rest) {
  return ["/api/queues", encodeURIComponent(queue), ...rest.map(encodeURIComponent)].join("/");
}
