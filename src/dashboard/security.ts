// What makes the dashboard safe to expose: authentication (a hook, basic auth), the CSRF check on
// mutations, and the headers of every answer (a strict Content-Security-Policy with no inline script,
// no framing, no MIME sniffing, no referrer).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError } from "./errors.js";
import type { ResolvedOptions } from "./options.js";

/** The Content-Security-Policy of every answer: scripts, styles and requests from the dashboard only. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The header the page sends on every mutation, with the token it read from /api/meta. */
export const CSRF_HEADER = "x-asynq-csrf";

export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
  res.setHeader("Cache-Control", "no-store");
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** Compares two strings in time independent of where they differ (of their hashes). */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Throws a 401 unless the request passes the auth hook and basic auth (those configured). */
export async function authenticate(req: IncomingMessage, options: ResolvedOptions): Promise<void> {
  if (options.auth !== undefined && (await options.auth(req)) !== true) {
    throw new HttpError(401, "ERR_UNAUTHORIZED", "authentication required");
  }
  const basic = options.basicAuth;
  if (basic === undefined) return;
  const header = req.headers.authorization ?? "";
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  const decoded = match === null ? "" : Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const user = colon < 0 ? "" : decoded.slice(0, colon);
  const password = colon < 0 ? "" : decoded.slice(colon + 1);
  // Both compared, always: no early exit that tells a right username from a wrong one.
  const ok = sameSecret(user, basic.username) && sameSecret(password, basic.password);
  if (!ok || colon < 0) throw new HttpError(401, "ERR_UNAUTHORIZED", "authentication required");
}

/**
 * The CSRF token of one dashboard: random, made once, read by the page from /api/meta (which another
 * origin cannot read: no CORS headers), and sent back in the X-Asynq-Csrf header of every mutation (which
 * another origin cannot set without a preflight that the dashboard never grants).
 */
export function newCsrfToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Throws a 403 unless a mutation carries the token, JSON (or no body), and comes from this origin
 * when the browser says where it comes from.
 */
export function checkCsrf(req: IncomingMessage, token: string): void {
  const sent = req.headers[CSRF_HEADER];
  if (typeof sent !== "string" || !sameSecret(sent, token)) {
    throw new HttpError(403, "ERR_CSRF", "missing or wrong CSRF token");
  }
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    throw new HttpError(403, "ERR_CSRF", "cross-site request refused");
  }
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (origin !== undefined && origin !== "null" && host !== undefined) {
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      throw new HttpError(403, "ERR_CSRF", "bad Origin header");
    }
    if (originHost !== host) throw new HttpError(403, "ERR_CSRF", "cross-origin request refused");
  }
}
