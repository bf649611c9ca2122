// Validation of payloads through any Standard Schema validator (https://standardschema.dev): zod,
// valibot, arktype and others expose a `~standard` property with a `validate` function. The
// interface is written here, so asynq-ts depends on no validation library at run time.
import { ValidationError } from "../errors.js";
import { errorMessage } from "../internal/errors.js";

/** One problem a validator found: its message, and where in the value (when it says). */
export interface SchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** What a validator's `validate` returns: the (possibly transformed) value, or the issues. */
export type SchemaResult<Output> =
  { readonly value: Output; readonly issues?: undefined } | { readonly issues: ReadonlyArray<SchemaIssue> };

/**
 * A Standard Schema (version 1) validator, as zod (3.24+ and 4), valibot (1.0+) and arktype
 * (2.0+) schemas are: asynq-ts needs only its `validate` function, and reads its `types` for the
 * input and output types. `Input` is what `enqueue` accepts; `Output` is what the handler receives.
 */
export interface StandardSchema<Input = unknown, Output = Input> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => SchemaResult<Output> | Promise<SchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** The input type of a schema (what `enqueue` takes). */
export type SchemaInput<S extends StandardSchema> = NonNullable<S["~standard"]["types"]>["input"];
/** The output type of a schema (what the handler receives). */
export type SchemaOutput<S extends StandardSchema> = NonNullable<S["~standard"]["types"]>["output"];

/** Throws the ValidationError of failed validation, or returns the validated value. */
function settle<Output>(result: SchemaResult<Output>, field: string, value: unknown, op: string): Output {
  if (result.issues === undefined) return result.value;
  throw new ValidationError(field, value, describeIssues(result.issues), { op });
}

/**
 * Validates `value` with `schema`, for callers that cannot wait (`definition.task()`).
 * @throws ValidationError naming `field` when the value is invalid, or when the schema validates
 *   asynchronously (it returned a promise).
 */
export function validateNow<Output>(
  schema: StandardSchema<unknown, Output>,
  value: unknown,
  field: string,
  op: string,
): Output {
  const result = schema["~standard"].validate(value);
  if (result instanceof Promise) {
    // The promise is dropped: say so, rather than leave an unhandled rejection behind.
    result.catch(() => {});
    throw new ValidationError(
      field,
      value,
      "the schema validates asynchronously: use `client.enqueue(definition, payload)` or `await definition.taskAsync(payload)`",
      { op },
    );
  }
  return settle(result, field, value, op);
}

/**
 * Validates `value` with `schema`, synchronous and asynchronous validators alike.
 * @throws ValidationError naming `field` when the value is invalid (or the validator throws).
 */
export async function validate<Output>(
  schema: StandardSchema<unknown, Output>,
  value: unknown,
  field: string,
  op: string,
): Promise<Output> {
  let result: SchemaResult<Output>;
  try {
    result = await schema["~standard"].validate(value);
  } catch (cause) {
    throw new ValidationError(field, value, `the schema's validator threw: ${errorMessage(cause)}`, {
      op,
      cause,
    });
  }
  return settle(result, field, value, op);
}

/** `userId: Expected number; email: Invalid email` — each issue with its path, when it has one. */
export function describeIssues(issues: ReadonlyArray<SchemaIssue>): string {
  if (issues.length === 0) return "the schema rejected the value";
  return issues
    .map((issue) => {
      const path = (issue.path ?? [])
        .map((segment) => String(typeof segment === "object" ? segment.key : segment))
        .join(".");
      return path === "" ? issue.message : `${path}: ${issue.message}`;
    })
    .join("; ");
}

/** True for an object with a Standard Schema `validate` function. */
export function isStandardSchema(value: unknown): value is StandardSchema {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  const props = (value as { "~standard"?: unknown })["~standard"];
  return (
    typeof props === "object" &&
    props !== null &&
    typeof (props as { validate?: unknown }).validate === "function"
  );
}
