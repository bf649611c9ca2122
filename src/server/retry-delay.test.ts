// Unit tests of asynq's default retry delay: bounds, whole seconds, distribution of r, growth.
import { describe, expect, it } from "vitest";
import type { HandlerTask } from "./mux.js";
import { defaultRetryDelay } from "./retry-delay.js";
import type { RetryDelayFn } from "./retry-delay.js";

const task: HandlerTask = { type: "t", payload: new Uint8Array(), headers: {} };
const error = new Error("boom");
/** Largest value Math.random can return (1 - 2⁻⁵³): r = 29. */
const ALMOST_ONE = 1 - 2 ** -53;

describe("defaultRetryDelay", () => {
  it("matches Sidekiq's formula at both ends of r for n = 0..25", () => {
    for (let n = 0; n <= 25; n++) {
      expect(defaultRetryDelay(n, error, task, () => 0)).toBe((n ** 4 + 15) * 1000);
      expect(defaultRetryDelay(n, error, task, () => ALMOST_ONE)).toBe((n ** 4 + 15 + 29 * (n + 1)) * 1000);
    }
  });

  it("known values", () => {
    expect(defaultRetryDelay(0, error, task, () => 0)).toBe(15_000);
    expect(defaultRetryDelay(0, error, task, () => ALMOST_ONE)).toBe(44_000);
    expect(defaultRetryDelay(2, error, task, () => 0.99)).toBe(118_000);
    expect(defaultRetryDelay(24, error, task, () => 0)).toBe(331_791_000);
  });

  it("returns whole seconds within the bounds, r taking every value 0..29", () => {
    let seed = 42;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const expected = Array.from({ length: 30 }, (_, r) => r);
    for (let n = 0; n <= 25; n++) {
      const seen = new Set<number>();
      const odd: number[] = [];
      for (let i = 0; i < 600; i++) {
        const ms = defaultRetryDelay(n, error, task, random);
        const r = (ms / 1000 - n ** 4 - 15) / (n + 1);
        if (ms % 1000 !== 0 || !Number.isInteger(r)) odd.push(ms);
        seen.add(r);
      }
      expect(odd).toEqual([]);
      expect([...seen].sort((a, b) => a - b)).toEqual(expected);
    }
  });

  it("uses Math.random by default and stays within the bounds", () => {
    for (let n = 0; n <= 25; n++) {
      const ms = defaultRetryDelay(n, error, task);
      expect(ms).toBeGreaterThanOrEqual((n ** 4 + 15) * 1000);
      expect(ms).toBeLessThanOrEqual((n ** 4 + 15 + 29 * (n + 1)) * 1000);
      expect(ms % 1000).toBe(0);
    }
  });

  it("grows with the number of failures, even from the worst case of n to the best of n + 1", () => {
    for (let n = 0; n < 25; n++) {
      const maxN = defaultRetryDelay(n, error, task, () => ALMOST_ONE);
      const minNext = defaultRetryDelay(n + 1, error, task, () => 0);
      // Ranges overlap only for n ≤ 2, where 29 × (n + 1) exceeds the step from n⁴ to (n + 1)⁴.
      if (n >= 3) expect(minNext).toBeGreaterThan(maxN);
      else expect(minNext).toBeLessThanOrEqual(maxN);
      expect(defaultRetryDelay(n + 1, error, task, () => 0)).toBeGreaterThan(
        defaultRetryDelay(n, error, task, () => 0),
      );
    }
  });

  it("clamps odd inputs: r stays in [0, 29], n is truncated and never negative", () => {
    expect(defaultRetryDelay(0, error, task, () => 1)).toBe(44_000);
    expect(defaultRetryDelay(0, error, task, () => -0.5)).toBe(15_000);
    expect(defaultRetryDelay(-3, error, task, () => 0)).toBe(15_000);
    expect(defaultRetryDelay(2.9, error, task, () => 0)).toBe(31_000);
    expect(defaultRetryDelay(Number.NaN, error, task, () => 0)).toBe(15_000);
  });

  it("fits the RetryDelayFn type", () => {
    const fn: RetryDelayFn = defaultRetryDelay;
    expect(fn(1, error, task)).toBeGreaterThanOrEqual(16_000);
  });
});
