// What an unknown thrown value becomes: an Error (toError), the text of its message (errorMessage),
// and the short form of a value an error message names (describeValue). The one place for these.
import { inspect } from "node:util";

/**
 * The message of an error, or the text of a thrown non-Error value (`String(value)`), for log lines
 * and error messages. Never throws.
 */
export function errorMessage(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  try {
    return String(thrown);
  } catch {
    return inspect(thrown, { depth: 2, breakLength: Infinity }); // no toString (Object.create(null))
  }
}

/**
 * An Error for anything thrown or rejected with: an Error as it is; anything else in a new Error
 * with the value as its `cause`.
 *
 * @param source who threw, e.g. `"handler"`. With it, the message says so in the texts stored in
 *   Redis as a task's `error_msg`: `handler failed with undefined`, or
 *   `handler failed with a non-Error value: <JSON>` (a string as it is; util.inspect when JSON cannot
 *   write the value). Without it, the message is {@link errorMessage} of the value.
 */
export function toError(thrown: unknown, source?: string): Error {
  if (thrown instanceof Error) return thrown;
  if (source === undefined) return new Error(errorMessage(thrown), { cause: thrown });
  if (thrown === undefined) return new Error(`${source} failed with undefined`);
  let text: string | undefined;
  try {
    text = typeof thrown === "string" ? thrown : JSON.stringify(thrown);
  } catch {
    text = undefined; // a BigInt or a circular value
  }
  text ??= inspect(thrown, { depth: 3, breakLength: Infinity });
  return new Error(`${source} failed with a non-Error value: ${text}`, { cause: thrown });
}

/** Short printable form of a value an error message names (ValidationError's offending value). */
export function describeValue(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (value === null) return "null";
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === "function") return "a function";
  if (typeof value === "symbol") return value.toString();
  return Array.isArray(value) ? "an array" : "an object";
}
