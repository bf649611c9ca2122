// Builds supervised operations from plain ones: each runs through ConnectionSupervisor.run, so that it
// connects first, is bounded, and a Redis error becomes a BrokerError once, named `broker.<method>`.
import type { ConnectionSupervisor } from "./connection/supervisor.js";

/** Operations on a raw connection, by name: what a domain's `*Ops(redis)` factory returns. */
type Operations = Record<string, (...args: never[]) => Promise<unknown>>;

/**
 * The same operations, each run by `supervisor` under the op name `broker.<name>`. Wrappers keep
 * the operation's arity (up to 3): no rest array per call on the worker's hot path, only the closure
 * that a call through the supervisor always took. The arity is the function's `length`, so an
 * operation declares every parameter it takes, with no default value (`(q, id, fence) =>`, not
 * `(q, id, fence = x) =>`, whose length would drop `fence`).
 */
export function supervise<T extends Operations>(supervisor: ConnectionSupervisor, ops: T): T {
  const supervised: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(ops) as Array<[string, Fn]>) {
    const op = `broker.${name}`;
    supervised[name] = wrap(fn.length, (thunk) => supervisor.run(op, thunk), fn);
  }
  return supervised as T;
}

type Fn = (...args: unknown[]) => Promise<unknown>;

/** A wrapper of `fn` with its arity, running each call through `run`. */
function wrap(arity: number, run: (thunk: () => Promise<unknown>) => Promise<unknown>, fn: Fn): Fn {
  switch (arity) {
    case 0:
      return () => run(() => fn());
    case 1:
      return (a) => run(() => fn(a));
    case 2:
      return (a, b) => run(() => fn(a, b));
    case 3:
      return (a, b, c) => run(() => fn(a, b, c));
    default:
      return (...args) => run(() => fn(...args));
  }
}
