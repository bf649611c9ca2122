// Offers the methods of a class's parts as the class's own, with no forwarder written per method:
// the part's declaration (signature and TSDoc) is the public one, merged into the class by an
// interface, and `delegate` installs the matching methods on the class's prototype.

/**
 * Installs on `proto` one method per name that calls the method of the same name on the part
 * `part(this)` returns, with the same arguments, `this` bound to the part.
 *
 * @example
 * ```ts
 * export interface Outer extends Pick<Part, "read"> {}
 * export class Outer {
 *   private readonly part = new Part();
 *   static {
 *     delegate(Outer.prototype, (self: Outer) => self.part, ["read"]);
 *   }
 * }
 * ```
 */
export function delegate<Self extends object, Part, K extends keyof Part & string>(
  proto: Self,
  part: (self: Self) => Part,
  names: readonly K[],
): void {
  for (const name of names) {
    const method = function (this: Self, ...args: unknown[]): unknown {
      const target = part(this);
      return (target[name] as (...a: unknown[]) => unknown).apply(target, args);
    };
    Object.defineProperty(method, "name", { value: name });
    Object.defineProperty(proto, name, {
      value: method,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
}
