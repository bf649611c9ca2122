// Parsing of flag values: integers, durations (Go syntax: 30s, 1m30s, 2h), instants, key=value pairs.
import { CliError, EXIT } from "./fail.js";

/** An integer flag within bounds. */
export function intFlag(value: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(value.trim()))
    throw new CliError(`${flag}: expected an integer, got ${JSON.stringify(value)}`, EXIT.usage);
  const n = Number(value);
  if (n < min || n > max) throw new CliError(`${flag}: must be from ${min} to ${max}, got ${n}`, EXIT.usage);
  return n;
}

/** A duration flag in Go syntax (`30s`, `5m`, `1h30m`), in ms. */
export function durationFlag(value: string, flag: string): number {
  const ms = parseDuration(value.trim());
  if (ms === null) {
    throw new CliError(
      `${flag}: expected a duration such as 30s, 5m or 1h30m, got ${JSON.stringify(value)}`,
      EXIT.usage,
    );
  }
  return ms;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's duration syntax without sign and below-ms units (`1h30m`, `2.5s`, `250ms`, `0`), in ms; null when invalid. */
export function parseDuration(text: string): number | null {
  if (text === "0") return 0;
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return null;
  let total = 0;
  for (const [, amount, , unit] of text.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g))
    total += Number(amount) * UNIT_MS[unit!]!;
  return Math.round(total);
}

/** An instant flag: RFC 3339 / ISO 8601 (`2026-01-02T15:04:05Z`) or unix seconds. */
export function instantFlag(value: string, flag: string): Date {
  const text = value.trim();
  const date = /^\d+$/.test(text) ? new Date(Number(text) * 1000) : new Date(text);
  if (Number.isNaN(date.getTime()) || (!/^\d+$/.test(text) && !/^\d{4}-\d{2}-\d{2}/.test(text))) {
    throw new CliError(
      `${flag}: expected an RFC 3339 time (2026-01-02T15:04:05Z) or unix seconds, got ${JSON.stringify(value)}`,
      EXIT.usage,
    );
  }
  return date;
}

/** Collects repeated `key=value` flags into a record. */
export function collectPair(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new CliError(`--header: expected key=value, got ${JSON.stringify(value)}`, EXIT.usage);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}
