// Unit tests of the queue polling order: validation, one queue, strict priority, weighted draws.
import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { QueueOrder, normalizeQueues } from "./queue-order.js";

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function expectValidation(fn: () => unknown, field: string): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe(field);
    return err as ValidationError;
  }
  throw new Error("expected a ValidationError");
}

describe("normalizeQueues", () => {
  it('defaults to {"default": 1} when nothing is configured', () => {
    expect(normalizeQueues(undefined)).toEqual({ default: 1 });
    expect(normalizeQueues({})).toEqual({ default: 1 });
  });

  it("returns a copy of valid queues, priorities as configured", () => {
    const queues = { critical: 600, default: 300, low: 100 };
    const out = normalizeQueues(queues);
    expect(out).toEqual(queues);
    expect(out).not.toBe(queues);
    const proto = normalizeQueues(JSON.parse('{"__proto__": 2}') as Record<string, number>);
    expect(Object.keys(proto)).toEqual(["__proto__"]);
  });

  it("throws naming the invalid entry", () => {
    expectValidation(() => normalizeQueues({ ok: 1, "": 1 }), "queues.");
    expectValidation(() => normalizeQueues({ " ": 1 }), "queues. ");
    expectValidation(() => normalizeQueues({ "a}b": 1 }), "queues.a}b");
    expectValidation(() => normalizeQueues({ "\uD800": 1 }), "queues.\uD800");
    expectValidation(() => normalizeQueues({ low: 0 }), "queues.low");
    expectValidation(() => normalizeQueues({ low: -1 }), "queues.low");
    expectValidation(() => normalizeQueues({ low: 1.5 }), "queues.low");
    expectValidation(() => normalizeQueues({ low: Number.NaN }), "queues.low");
    expectValidation(() => normalizeQueues({ low: 2 ** 31 }), "queues.low");
    expectValidation(() => normalizeQueues({ low: "1" as unknown as number }), "queues.low");
    expect(normalizeQueues({ high: 2 ** 31 - 1 })).toEqual({ high: 2 ** 31 - 1 });
  });

  it("throws when queues is not an object", () => {
    expectValidation(() => normalizeQueues(null as unknown as Record<string, number>), "queues");
    expectValidation(() => normalizeQueues([1] as unknown as Record<string, number>), "queues");
    expectValidation(() => normalizeQueues("default" as unknown as Record<string, number>), "queues");
  });
});

describe("QueueOrder", () => {
  it("always returns the only queue", () => {
    const random = () => {
      throw new Error("random must not be used");
    };
    for (const strictPriority of [false, true]) {
      const order = new QueueOrder({ queues: { only: 7 }, strictPriority }, random);
      expect(order.next()).toEqual(["only"]);
      expect(order.next()).toEqual(["only"]);
      expect(order.priorities).toEqual({ only: 1 });
    }
  });

  it('uses {"default": 1} when no queue is configured, and validates the rest', () => {
    expect(new QueueOrder({ queues: {}, strictPriority: false }).next()).toEqual(["default"]);
    expectValidation(() => new QueueOrder({ queues: { bad: 0 }, strictPriority: false }), "queues.bad");
  });

  it("divides priorities by their GCD", () => {
    const order = new QueueOrder({ queues: { a: 600, b: 300, c: 100 }, strictPriority: false });
    expect(order.priorities).toEqual({ a: 6, b: 3, c: 1 });
    expect(new QueueOrder({ queues: { a: 4, b: 6 }, strictPriority: true }).priorities).toEqual({
      a: 2,
      b: 3,
    });
    expect(new QueueOrder({ queues: { a: 3, b: 5 }, strictPriority: true }).priorities).toEqual({
      a: 3,
      b: 5,
    });
  });

  it("strict: priority descending, ties by name, same every call without randomness", () => {
    const random = () => {
      throw new Error("random must not be used");
    };
    const order = new QueueOrder(
      { queues: { low: 1, zeta: 5, critical: 6, alpha: 5, mid: 3 }, strictPriority: true },
      random,
    );
    const expected = ["critical", "alpha", "zeta", "mid", "low"];
    expect(order.next()).toEqual(expected);
    const first = order.next();
    first.reverse(); // a caller mutating the result does not change later ones
    expect(order.next()).toEqual(expected);
  });

  it("weighted: every call returns each queue exactly once", () => {
    const queues = { a: 5, b: 1, c: 1, d: 20, e: 3 };
    const order = new QueueOrder({ queues, strictPriority: false }, seeded(7));
    const sorted = Object.keys(queues).sort();
    for (let i = 0; i < 2000; i++) {
      const got = order.next();
      expect(got).toHaveLength(5);
      expect([...got].sort()).toEqual(sorted);
    }
  });

  for (const queues of [
    { critical: 6, default: 3, low: 1 },
    { critical: 600, default: 300, low: 100 },
  ]) {
    it(`weighted ${JSON.stringify(queues)}: first-position share ≈ 60/30/10`, () => {
      const order = new QueueOrder({ queues, strictPriority: false }, seeded(12345));
      const draws = 30_000;
      const first = new Map<string, number>();
      for (let i = 0; i < draws; i++) {
        const q = order.next()[0] ?? "";
        first.set(q, (first.get(q) ?? 0) + 1);
      }
      const share = (q: string) => ((first.get(q) ?? 0) / draws) * 100;
      expect(Math.abs(share("critical") - 60)).toBeLessThan(1.5);
      expect(Math.abs(share("default") - 30)).toBeLessThan(1.5);
      expect(Math.abs(share("low") - 10)).toBeLessThan(1.5);
    });
  }

  it("weighted: the rest follow the same rule (second position given the first)", () => {
    // With weights 6/3/1, P(default second | critical first) = 3/4 and P(critical second | low first) = 6/9.
    const order = new QueueOrder(
      { queues: { critical: 6, default: 3, low: 1 }, strictPriority: false },
      seeded(99),
    );
    let criticalFirst = 0;
    let defaultSecond = 0;
    let lowFirst = 0;
    let criticalSecond = 0;
    for (let i = 0; i < 60_000; i++) {
      const [a, b] = order.next();
      if (a === "critical") {
        criticalFirst++;
        if (b === "default") defaultSecond++;
      } else if (a === "low") {
        lowFirst++;
        if (b === "critical") criticalSecond++;
      }
    }
    expect(Math.abs((defaultSecond / criticalFirst) * 100 - 75)).toBeLessThan(1.5);
    expect(Math.abs((criticalSecond / lowFirst) * 100 - (6 / 9) * 100)).toBeLessThan(3);
  });

  it("weighted: cost does not depend on the size of the priorities", () => {
    let calls = 0;
    const random = seeded(1);
    const order = new QueueOrder(
      { queues: { a: 2 ** 31 - 1, b: 2 ** 31 - 2, c: 1 }, strictPriority: false },
      () => {
        calls++;
        return random();
      },
    );
    expect([...order.next()].sort()).toEqual(["a", "b", "c"]);
    expect(calls).toBe(3);
  });

  it("weighted: a degenerate random source still yields a permutation", () => {
    for (const value of [0, 0.5, 0.999999999999]) {
      const order = new QueueOrder({ queues: { a: 1, b: 2, c: 3 }, strictPriority: false }, () => value);
      expect([...order.next()].sort()).toEqual(["a", "b", "c"]);
    }
  });
});
