// Reading the API's input: query parameters (integers in a range, a task state) and the errors they
// raise (400 ERR_VALIDATION), shared by the route files (api.ts, api-system.ts).
import type { TaskState } from "../index.js";
import { HttpError } from "./errors.js";

/** Task states, in the order the page shows them. */
export const STATES: readonly TaskState[] = [
  "active",
  "pending",
  "aggregating",
  "scheduled",
  "retry",
  "archived",
  "completed",
];

/** The largest page any listing of the API sends. */
export const MAX_PAGE_SIZE = 100;

/** A 400 for invalid input. */
export function bad(message: string): HttpError {
  return new HttpError(400, "ERR_VALIDATION", message);
}

/** An integer query parameter in [min, max], or `fallback` when absent. */
export function intParam(
  query: URLSearchParams,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = query.get(name);
  if (raw === null || raw === "") return fallback;
  if (!/^\d{1,9}$/.test(raw)) throw bad(`${name} must be an integer from ${min} to ${max}`);
  const value = Number(raw);
  if (value < min || value > max) throw bad(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

/** `page` (1 to 1,000,000, default 1) and `size` (1 to MAX_PAGE_SIZE, default 20). */
export function pageParams(query: URLSearchParams): { page: number; size: number } {
  return {
    page: intParam(query, "page", 1, 1, 1_000_000),
    size: intParam(query, "size", 20, 1, MAX_PAGE_SIZE),
  };
}

export function stateParam(value: string | null | undefined): TaskState {
  if (value === null || value === undefined || !(STATES as readonly string[]).includes(value)) {
    throw bad(`state must be one of ${STATES.join(", ")}`);
  }
  return value as TaskState;
}
