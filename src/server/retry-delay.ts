// How long a failed task waits before its next attempt: the retry-delay option type and asynq's default formula (wire-format §5.6).
import type { HandlerTask } from "./mux.js";

/**
 * Computes the delay before retrying a failed task (asynq's `RetryDelayFunc`).
 *
 * @param retried - how many times the task had failed **before** this failure (0 on the first one).
 * @param error - the error the handler failed with.
 * @param task - the task that failed.
 * @returns the delay in milliseconds.
 */
export type RetryDelayFn = (retried: number, error: Error, task: HandlerTask) => number;

/**
 * asynq's default retry delay (Sidekiq's formula): `⌊n⁴⌋ + 15 + r × (n + 1)` seconds, where `n` is
 * `retried` and `r` a uniform random integer in [0, 30). The result is always a whole number of
 * seconds, returned in milliseconds: 15 s to 44 s for `n = 0`, about 3.8 days for `n = 24` (the
 * last retry under the default `maxRetry` of 25).
 *
 * It grows as n⁴ without bound, as in asynq; for very large `n` (beyond a few hundred, far above the
 * default `maxRetry` of 25) the delay exceeds what a `Date` can hold or Go's `time.Duration` can
 * represent, so callers that accept huge `maxRetry` values should clamp the resulting retry time.
 *
 * @param retried - failures counted before this one (`n`); a fractional value is truncated, and a
 * negative or non-finite one counts as 0.
 * @param random - uniform source in [0, 1) for `r`; `Math.random` by default.
 * @returns the delay in milliseconds.
 *
 * @example
 * ```ts
 * defaultRetryDelay(0, err, task, () => 0); // 15_000
 * defaultRetryDelay(2, err, task, () => 0.99); // (16 + 15 + 29 × 3) s = 118_000
 * ```
 */
export function defaultRetryDelay(
  retried: number,
  _error: Error,
  _task: HandlerTask,
  random: () => number = Math.random,
): number {
  const n = Number.isFinite(retried) ? Math.max(0, Math.trunc(retried)) : 0;
  const r = Math.min(29, Math.max(0, Math.floor(random() * 30)));
  const seconds = Math.floor(n ** 4) + 15 + r * (n + 1);
  return seconds * 1000;
}
