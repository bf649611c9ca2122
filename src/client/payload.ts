// Turns a user payload into bytes: bytes as they are, strings as UTF-8, other values as JSON.
import { ValidationError } from "../errors.js";
import { errorMessage } from "../internal/errors.js";

/**
 * Encodes a payload; `undefined` means no payload (Go's nil). Errors name the field
 * `field + suffix` (joined only then).
 * @throws ValidationError when a string is not valid UTF-8 or a value cannot be encoded as JSON.
 */
export function encodePayload(payload: unknown, field: string, suffix = ""): Uint8Array | undefined {
  if (payload === undefined) return undefined;
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (typeof payload === "string") {
    if (!payload.isWellFormed()) {
      throw new ValidationError(
        field + suffix,
        payload,
        "the string has a lone surrogate, so it is not valid UTF-8",
      );
    }
    return Buffer.from(payload, "utf8");
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (cause) {
    throw new ValidationError(
      field + suffix,
      payload,
      `the payload cannot be encoded as JSON: ${errorMessage(cause)}`,
      { cause },
    );
  }
  if (json === undefined) {
    throw new ValidationError(field + suffix, payload, "the payload cannot be encoded as JSON");
  }
  return Buffer.from(json, "utf8");
}
