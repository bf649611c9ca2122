// createDashboard: the plain Node `(req, res)` handler. Every request goes through the same steps:
// security headers, authentication, the base path, then the page, an asset or an API route (with the
// read-only and CSRF checks on mutations); errors become JSON with the status errors.ts gives them.
import type { IncomingMessage, ServerResponse } from "node:http";
import { apiRoutes } from "./api.js";
import { systemRoutes } from "./api-system.js";
import { DoctorRunner } from "./doctor.js";
import { errorAnswer, HttpError } from "./errors.js";
import { resolveOptions, type DashboardOptions } from "./options.js";
import { Router } from "./router.js";
import { authenticate, checkCsrf, newCsrfToken, setSecurityHeaders } from "./security.js";
import { indexHtml, loadAssets } from "./static.js";

/** A mutation's body is at most this large. */
const MAX_BODY_BYTES = 256 * 1024;

/**
 * The dashboard as a Node request handler: mount it in `http.createServer`, Express, Fastify, Hono...
 * The third argument (Express's `next`) is ignored: every request gets an answer.
 */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse, next?: unknown): Promise<void>;
  /** The base path it serves under ("" for the root). */
  readonly basePath: string;
  /** Closes the Inspector the dashboard opened (not one you passed), and stops a doctor audit in progress. */
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, head = false): void {
  res.statusCode = status;
  res.setHeader("Content-Type", type);
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.end(head ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, body: unknown, head = false): void {
  if (status === 204) {
    res.statusCode = 204;
    res.end();
    return;
  }
  send(res, status, "application/json; charset=utf-8", JSON.stringify(body), head);
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = req.headers["content-type"] ?? "";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "ERR_TOO_LARGE", "request body too large");
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(415, "ERR_CONTENT_TYPE", "the body must be application/json");
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new HttpError(400, "ERR_VALIDATION", "the body is not valid JSON");
  }
}

/** The path below the base path, or null when the request is not for the dashboard. */
function localPath(url: string, basePath: string): string | null {
  const path = url.split("?")[0]!;
  if (basePath === "") return path;
  if (path === basePath) return "/";
  if (path.startsWith(`${basePath}/`)) return path.slice(basePath.length);
  // Mounted by a framework that strips its mount path (Express's app.use): taken as it is.
  return path.startsWith("/") ? path : null;
}

/**
 * Creates the dashboard: a `(req, res)` handler serving the page, its assets and its JSON API.
 * @throws ValidationError for an invalid option.
 */
export function createDashboard(options: DashboardOptions): DashboardHandler {
  const resolved = resolveOptions(options);
  const { inspector, basePath, readOnly } = resolved;
  const csrfToken = newCsrfToken();
  const assets = loadAssets();
  const html = indexHtml(basePath, resolved.pollIntervalMs);
  const doctorRunner = new DoctorRunner(resolved.redis);
  const router = new Router([
    ...apiRoutes(inspector, () => ({
      readOnly,
      basePath,
      pollIntervalMs: resolved.pollIntervalMs,
      doctor: resolved.redis !== undefined,
      ...(readOnly ? {} : { csrfToken }),
    })),
    ...systemRoutes(inspector, doctorRunner),
  ]);

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    setSecurityHeaders(res);
    const method = req.method ?? "GET";
    const head = method === "HEAD";
    try {
      await authenticate(req, resolved);
      const path = localPath(req.url ?? "/", basePath);
      if (path === null) throw new HttpError(404, "ERR_NOT_FOUND", "not found");
      if (path === "/" || path === "/index.html") {
        if (method !== "GET" && !head) throw new HttpError(405, "ERR_METHOD", "method not allowed");
        send(res, 200, "text/html; charset=utf-8", html, head);
        return;
      }
      if (path === "/favicon.ico") {
        res.statusCode = 204;
        res.end();
        return;
      }
      if (path.startsWith("/assets/")) {
        const asset = assets.get(path.slice("/assets/".length));
        if (asset === undefined) throw new HttpError(404, "ERR_NOT_FOUND", "no such asset");
        send(res, 200, asset.type, asset.body, head);
        return;
      }
      const { route, params } = router.match(method, path);
      let body: unknown;
      if (route.mutating) {
        if (readOnly) throw new HttpError(403, "ERR_READ_ONLY", "the dashboard is read-only");
        checkCsrf(req, csrfToken);
        body = await readJsonBody(req);
      }
      const query = new URLSearchParams((req.url ?? "").split("?")[1] ?? "");
      const answer = await route.handle({ params, query, body });
      sendJson(res, answer.status ?? 200, answer.body, head);
    } catch (error) {
      const { status, body } = errorAnswer(error);
      if (status === 401 && resolved.basicAuth !== undefined) {
        res.setHeader("WWW-Authenticate", 'Basic realm="asynq-ts dashboard", charset="UTF-8"');
      }
      if (!res.headersSent) sendJson(res, status, body, head);
      else res.destroy();
    }
  };

  const handler = ((req: IncomingMessage, res: ServerResponse) => serve(req, res)) as DashboardHandler;
  Object.defineProperty(handler, "basePath", { value: basePath, enumerable: true });
  handler.close = async () => {
    doctorRunner.close();
    if (resolved.ownsInspector) await inspector.close();
  };
  return handler;
}
