// A small router: routes are a method, a path pattern with :params, whether they mutate, and a
// handler; params are percent-decoded (a bad escape is a 400).
import { HttpError } from "./errors.js";

/** What a handler gets: path params, query string, parsed JSON body (mutations only). */
export interface RouteInput {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

/** What a handler answers: a status (204 when no body) and a JSON body. */
export interface RouteAnswer {
  status?: number;
  body?: unknown;
}

export interface Route {
  method: "GET" | "POST";
  /** e.g. `/api/queues/:queue/tasks/:id`. */
  path: string;
  /** Answers 403 in read-only mode, needs the CSRF token. */
  mutating: boolean;
  handle(input: RouteInput): Promise<RouteAnswer>;
}

/** A GET route whose handler's value is the JSON body. */
export function getRoute(path: string, handle: (input: RouteInput) => Promise<unknown>): Route {
  return { method: "GET", path, mutating: false, handle: async (input) => ({ body: await handle(input) }) };
}

/** A mutating POST route: its handler's value is the JSON body, or a 204 when undefined. */
export function postRoute(path: string, handle: (input: RouteInput) => Promise<unknown>): Route {
  return {
    method: "POST",
    path,
    mutating: true,
    handle: async (input) => {
      const body = await handle(input);
      return body === undefined ? { status: 204 } : { body };
    },
  };
}

interface Compiled {
  route: Route;
  regex: RegExp;
  names: string[];
}

export interface Match {
  route: Route;
  params: Record<string, string>;
}

export class Router {
  private readonly compiled: Compiled[];

  constructor(routes: readonly Route[]) {
    this.compiled = routes.map((route) => {
      const names: string[] = [];
      const source = route.path
        .split("/")
        .map((part) => {
          if (!part.startsWith(":")) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
          names.push(part.slice(1));
          return "([^/]+)";
        })
        .join("/");
      return { route, regex: new RegExp(`^${source}$`), names };
    });
  }

  /** The route for a method and path; a 404 when no path matches, a 405 when the method does not. */
  match(method: string, path: string): Match {
    let pathMatched = false;
    for (const { route, regex, names } of this.compiled) {
      const m = regex.exec(path);
      if (m === null) continue;
      pathMatched = true;
      if (route.method !== method && !(route.method === "GET" && method === "HEAD")) continue;
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        try {
          params[name] = decodeURIComponent(m[i + 1]!);
        } catch {
          throw new HttpError(400, "ERR_BAD_PATH", `bad percent-encoding in ${name}`);
        }
      });
      return { route, params };
    }
    if (pathMatched) throw new HttpError(405, "ERR_METHOD", `method ${method} not allowed here`);
    throw new HttpError(404, "ERR_NOT_FOUND", "no such route");
  }
}
