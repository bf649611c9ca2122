// Option checks shared by the resolvers of the Server's config and the Inspector's options: each
// applies a default from DEFAULTS (src/defaults.ts) and throws a ValidationError naming the field.
import { DEFAULTS } from "../defaults.js";
import { ValidationError } from "../errors.js";

/** Limits of a queue's archive. Durations are milliseconds. */
export interface ResolvedArchiveLimits {
  readonly maxSize: number;
  readonly maxAge: number;
}

/**
 * `value` when it is a safe integer >= `min`; undefined when it is undefined.
 * @throws ValidationError naming `field` otherwise.
 */
export function integerOption(value: unknown, field: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new ValidationError(field, value, `expected an integer >= ${min}`);
  }
  return value;
}

/**
 * The `archive` option (`{ maxSize?, maxAge? }`) with the defaults applied: 10,000 tasks, 90 days.
 * @param path how the option is named in error messages (`config.archive`, `options.archive`).
 * @throws ValidationError when `maxSize` is not an integer >= 1 or `maxAge` not one >= 1000.
 */
export function resolveArchiveLimits(
  archive: { maxSize?: number; maxAge?: number } | undefined,
  path: string,
): ResolvedArchiveLimits {
  const { maxSize, maxAge, min } = DEFAULTS.archive;
  return Object.freeze({
    maxSize: integerOption(archive?.maxSize, `${path}.maxSize`, min.maxSize) ?? maxSize,
    maxAge: integerOption(archive?.maxAge, `${path}.maxAge`, min.maxAge) ?? maxAge,
  });
}
