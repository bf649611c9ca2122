// Output of the command line: colour (only on a terminal, never with NO_COLOR), terminal-safe text
// (control characters escaped), plain tables, JSON with a stable shape, and the small formats
// (bytes, durations, instants) the tables use.

import type { TaskState } from "../index.js";

/** The task states, in the order every command shows them (asynq's CLI order). */
export const STATES: readonly TaskState[] = [
  "active",
  "pending",
  "aggregating",
  "scheduled",
  "retry",
  "archived",
  "completed",
];

/** Whether a stream gets colour: a terminal, NO_COLOR unset or empty, TERM not `dumb`; FORCE_COLOR wins. */
export function colourFor(stream: NodeJS.WriteStream): boolean {
  const env = process.env;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true;
  return stream.isTTY === true && env.TERM !== "dumb";
}

const CODES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
};
export type Style = keyof typeof CODES;

/** Styles text for stdout (no-op when stdout gets no colour). */
export function paint(style: Style, text: string, enabled = colourFor(process.stdout)): string {
  if (!enabled || text === "") return text;
  const [open, close] = CODES[style];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

/**
 * Makes a string from Redis safe to print on a terminal: C0 and C1 control characters, DEL, and the
 * Unicode line separators and bidirectional overrides are shown as escapes (`\x1b`, `\n`, `\u202e`),
 * so a task payload or a queue name cannot move the cursor, change colours or reorder the line.
 */
/** The characters {@link safe} escapes. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function safe(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** Shortens to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  if (max <= 0) return "";
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Payload bytes as text: UTF-8 when they decode, else hex; made terminal-safe. */
export function payloadText(bytes: Uint8Array | null): string {
  if (bytes === null || bytes.length === 0) return "";
  const text = utf8(bytes);
  return text === null ? `0x${Buffer.from(bytes).toString("hex")}` : safe(text);
}

/** The bytes as UTF-8, or null when they are not valid UTF-8. */
export function utf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** Bytes in the JSON output: base64 always, and the text when they are valid UTF-8. */
export function jsonBytes(bytes: Uint8Array | null): { base64: string; text: string | null } | null {
  if (bytes === null) return null;
  return { base64: Buffer.from(bytes).toString("base64"), text: utf8(bytes) };
}

/** An instant in the JSON output (ISO 8601, UTC) or null. */
export function jsonDate(date: Date | null | undefined): string | null {
  return date === null || date === undefined ? null : date.toISOString();
}

/**
 * Prints a value as JSON (two-space indent, one trailing newline). C1 controls, DEL and the Unicode
 * separators and bidi overrides are escaped too (JSON.stringify leaves them raw), so even JSON
 * printed on a terminal is safe.
 */
export function printJson(value: unknown): void {
  const text = JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  process.stdout.write(`${text}\n`);
}

/** Writes lines to stdout. */
export function println(text = ""): void {
  process.stdout.write(`${text}\n`);
}

/** Visible length of a cell (colour codes excluded). */
function visible(text: string): number {
  // eslint-disable-next-line no-control-regex -- strips our own colour codes
  return text.replace(/\u001b\[[0-9;]*m/g, "").length;
}

/**
 * A plain table: a bold header, columns padded to their widest cell, two spaces between columns.
 * Cells must already be safe (see {@link safe}); `maxWidth` caps each column (longer cells are cut).
 */
export function table(header: string[], rows: string[][], maxWidth = 60): string {
  const cut = rows.map((row) =>
    row.map((cell) => (visible(cell) > maxWidth ? truncate(cell, maxWidth) : cell)),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...cut.map((row) => visible(row[i] ?? ""))));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + " ".repeat(widths[i]! - visible(cell))))
      .join("  ")
      .trimEnd();
  const head = line(header.map((h, i) => h.padEnd(widths[i]!)));
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [paint("bold", head), rule, ...cut.map(line)].join("\n");
}

/** Prints a table, or `empty` when there are no rows. */
export function printTable(header: string[], rows: string[][], empty: string): void {
  println(rows.length === 0 ? empty : table(header, rows));
}

/** Bytes for people: `512 B`, `1.5 KB`, `3.2 MB`. */
export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Milliseconds as Go prints a duration, rounded to whole seconds from 1 s on (`1h2m3s`, `1m30s`, `250ms`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return ms <= 0 ? "0s" : `${Math.round(ms)}ms`;
  let seconds = Math.round(ms / 1000);
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

/** An instant for tables: `2026-01-02 15:04:05 UTC`, or `-` for none. */
export function formatTime(date: Date | null): string {
  if (date === null) return "-";
  return date
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, " UTC");
}

/** An instant relative to `now`: `in 5m0s`, `3s ago`, or `-`. */
export function formatRelative(date: Date | null, now = Date.now()): string {
  if (date === null) return "-";
  const diff = date.getTime() - now;
  if (Math.abs(diff) < 1000) return "now";
  return diff > 0 ? `in ${formatDuration(diff)}` : `${formatDuration(-diff)} ago`;
}

/** A number with thousands separators. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** failed / processed as a percentage with two decimals (`0.00%` when nothing was processed). */
export function errorRate(processed: number, failed: number): string {
  return processed === 0 ? "0.00%" : `${((failed / processed) * 100).toFixed(2)}%`;
}
