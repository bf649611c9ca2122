// Queue polling order of the processor: strict or weighted priority over the configured queues (wire-format §5.2).
import { DEFAULTS } from "../defaults.js";
import { ValidationError } from "../errors.js";

/** Highest priority accepted: ServerInfo stores priorities as protobuf int32. */
const MAX_PRIORITY = 2 ** 31 - 1;

/** Which queues a server polls, and how. */
export interface QueueOrderConfig {
  /** Queue name → priority (positive integer). */
  queues: Readonly<Record<string, number>>;
  /** `true`: always drain higher-priority queues first; `false`: pick queues at random, weighted by priority. */
  strictPriority: boolean;
}

/**
 * Validates the server's `queues` option and returns a copy of it (the priorities as configured,
 * not divided by their GCD: this is also what the heartbeat publishes in `ServerInfo.queues`).
 *
 * Decision: asynq silently drops invalid entries and falls back to `{"default": 1}` when none is
 * left. We reject them instead, because a misspelt priority silently turning a queue off is worse
 * than a startup error; `{"default": 1}` is used only when `queues` is `undefined` or has no entries.
 * A queue name must be a non-blank string, well-formed UTF-16 (it is written to Redis as UTF-8), and
 * free of `}` (it would cut the `{queue}` hash tag of the keys); a priority must be an integer from 1
 * to 2³¹ − 1 (protobuf int32 in `ServerInfo`).
 *
 * @param path - the option's name in error messages (`config.queues` from the server).
 * @throws {ValidationError} with field `<path>` when `queues` is not a plain object, or
 * `<path>.<name>` naming the first invalid entry.
 */
export function normalizeQueues(
  queues: Record<string, number> | undefined,
  path = "queues",
): Record<string, number> {
  if (queues === undefined) return { ...DEFAULTS.server.queues };
  if (typeof queues !== "object" || queues === null || Array.isArray(queues)) {
    throw new ValidationError(path, queues, "queues must be an object mapping queue names to priorities");
  }
  const entries = Object.entries(queues);
  if (entries.length === 0) return { ...DEFAULTS.server.queues };
  for (const [name, priority] of entries) {
    const field = `${path}.${name}`;
    if (name.trim() === "") throw new ValidationError(field, name, "a queue name cannot be blank");
    if (!name.isWellFormed()) {
      throw new ValidationError(field, name, "the queue name has a lone surrogate, so it is not valid UTF-8");
    }
    if (name.includes("}")) {
      throw new ValidationError(
        field,
        name,
        'a queue name cannot contain "}": it would cut the {queue} hash tag',
      );
    }
    if (
      typeof priority !== "number" ||
      !Number.isInteger(priority) ||
      priority < 1 ||
      priority > MAX_PRIORITY
    ) {
      throw new ValidationError(field, priority, `the priority must be an integer from 1 to ${MAX_PRIORITY}`);
    }
  }
  // fromEntries defines own properties, so even a queue named "__proto__" survives the copy.
  return Object.fromEntries(entries);
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Decides, before each dequeue, in which order the queues are tried (asynq's `processor.queues()`).
 *
 * - One queue: always `[q]`.
 * - Strict priority: by priority descending, ties by name (code-unit order); computed once.
 * - Weighted: a queue comes first with probability priority / Σ priorities, and the rest follow by
 *   the same rule applied to the queues not yet placed. This is the distribution asynq gets by
 *   shuffling a list holding each queue `priority` times and keeping first occurrences, computed
 *   without that list: each queue draws an exponential "arrival time" with rate = its priority and
 *   the queues are sorted by it (Efraimidis–Spirakis), so a call costs O(n log n) for n queues,
 *   whatever the priorities.
 */
export class QueueOrder {
  /** Queue name → priority divided by the GCD of all priorities (frozen). */
  readonly priorities: Readonly<Record<string, number>>;
  readonly #random: () => number;
  readonly #names: readonly string[];
  readonly #weights: readonly number[];
  /** The fixed order, for one queue or strict priority; undefined in weighted mode. */
  readonly #fixed: readonly string[] | undefined;

  /**
   * @param cfg - the queues (validated by {@link normalizeQueues}) and the mode.
   * @param random - uniform source in [0, 1); `Math.random` by default. Inject a seeded one in tests.
   * @throws {ValidationError} when `cfg.queues` is invalid (see {@link normalizeQueues}).
   */
  constructor(cfg: QueueOrderConfig, random: () => number = Math.random) {
    const queues = normalizeQueues(cfg.queues);
    const names = Object.keys(queues);
    const raw = names.map((name) => queues[name] ?? 1);
    const divisor = raw.reduce(gcd);
    const weights = raw.map((p) => p / divisor);
    this.priorities = Object.freeze(Object.fromEntries(names.map((name, i) => [name, weights[i] ?? 1])));
    this.#random = random;
    this.#names = names;
    this.#weights = weights;
    if (names.length === 1) {
      this.#fixed = names;
    } else if (cfg.strictPriority) {
      this.#fixed = names
        .map((name, i) => ({ name, weight: weights[i] ?? 1 }))
        .sort((a, b) => b.weight - a.weight || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .map((q) => q.name);
    } else {
      this.#fixed = undefined;
    }
  }

  /** The queues to try for the next dequeue, each exactly once, first to try first. A fresh array. */
  next(): string[] {
    if (this.#fixed !== undefined) return [...this.#fixed];
    const keyed = this.#names.map((name, i) => ({
      name,
      // Exponential arrival time with rate = weight; 1 - u is in (0, 1], so the log is finite.
      at: -Math.log(1 - this.#random()) / (this.#weights[i] ?? 1),
    }));
    keyed.sort((a, b) => a.at - b.at);
    return keyed.map((q) => q.name);
  }
}
