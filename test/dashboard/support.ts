// Support of the dashboard tests: the dashboard (from src/dashboard, through its public entry) served
// by a plain node:http server on a free port of 127.0.0.1, on this worker's Redis DB.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createDashboard, type DashboardOptions } from "../../src/dashboard/index.js";

export interface Served {
  /** `http://127.0.0.1:<port>` (no base path). */
  origin: string;
  close(): Promise<void>;
}

/** Serves a dashboard on `url` (options added) until `close()`. */
export async function serveDashboard(
  url: string,
  options: Omit<DashboardOptions, "redis"> = {},
): Promise<Served> {
  const dashboard = createDashboard({ redis: url, ...options });
  const server: Server = createServer((req, res) => void dashboard(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dashboard.close();
    },
  };
}

/** GET or POST JSON; returns status, headers and the parsed body (undefined when none). */
export async function call(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read the answers field by field
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

/** The CSRF token of a (not read-only) dashboard, from its /api/meta. */
export async function csrfToken(base: string, headers: Record<string, string> = {}): Promise<string> {
  const meta = await call(`${base}/api/meta`, { headers });
  return (meta.body as { csrfToken: string }).csrfToken;
}

/** POSTs a mutation with the CSRF token. */
export async function mutate(base: string, path: string, token: string, body?: unknown) {
  return call(`${base}${path}`, {
    method: "POST",
    headers: {
      "X-Asynq-Csrf": token,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}
