// Payload codecs of typed tasks: how a payload becomes the bytes stored in the task message and back.
// JSON by default, written as Go's json.Marshal writes it (so Go handlers read it, and the bytes,
// hence unique keys, agree with a Go client's for the same struct, key order permitting).

/**
 * Turns a payload (or a result) into bytes and back. `encode` may throw for a value it cannot
 * represent; `decode` for bytes it cannot read (the task is then archived without a retry).
 */
export interface TaskCodec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** Options of {@link jsonCodec}. */
export interface JsonCodecOptions {
  /**
   * Escape `<`, `>`, `&`, U+2028 and U+2029 in strings as `\u003c`, `\u003e`, `\u0026`, `\u2028`,
   * `\u2029`, as Go's `json.Marshal` does (so the bytes match a Go client's). Readers see the same
   * strings either way. `false` writes what `JSON.stringify` writes.
   * @defaultValue true
   */
  escapeHTML?: boolean;
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const HTML_UNSAFE = /[<>&\u2028\u2029]/g;

/** `\u003c` for `<`: lower-case hex, as Go writes it. */
const escapeChar = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** JSON.stringify writes NaN and ±Infinity as `null`; Go's json.Marshal refuses them, and so do we. */
function finiteOnly(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new Error(`${String(value)}${key === "" ? "" : ` (at "${key}")`} has no JSON form`);
  }
  return value;
}

/**
 * The JSON codec, the default of `defineTask`: `JSON.stringify` (with `toJSON`, so a Date becomes
 * its ISO string), HTML characters escaped as Go does unless `escapeHTML` is false; NaN, ±Infinity,
 * BigInt, functions and symbols at the top level are refused (Go refuses them too). Decoding is
 * `JSON.parse` of strict UTF-8.
 *
 * @example
 * ```ts
 * const codec = jsonCodec<{ html: string }>();
 * new TextDecoder().decode(codec.encode({ html: "<b>" })); // '{"html":"\u003cb\u003e"}'
 * ```
 */
export function jsonCodec<T>(options: JsonCodecOptions = {}): TaskCodec<T> {
  const escapeHTML = options.escapeHTML ?? true;
  return {
    encode(value: T): Uint8Array {
      const text: unknown = JSON.stringify(value, finiteOnly);
      if (typeof text !== "string") throw new Error(`${typeof value} has no JSON form`);
      return Buffer.from(escapeHTML ? text.replace(HTML_UNSAFE, escapeChar) : text, "utf8");
    },
    decode(bytes: Uint8Array): T {
      return JSON.parse(STRICT_UTF8.decode(bytes)) as T;
    },
  };
}

/** A string payload as its UTF-8 bytes, unquoted (what Go reads with `string(t.Payload())`). */
export const textCodec: TaskCodec<string> = {
  encode(value: string): Uint8Array {
    if (typeof value !== "string") throw new Error(`expected a string, got ${typeof value}`);
    if (!value.isWellFormed()) throw new Error("the string has a lone surrogate, so it is not valid UTF-8");
    return Buffer.from(value, "utf8");
  },
  decode(bytes: Uint8Array): string {
    return STRICT_UTF8.decode(bytes);
  },
};

/** Bytes as they are (protobuf, msgpack or anything you encode yourself). */
export const bytesCodec: TaskCodec<Uint8Array> = {
  encode(value: Uint8Array): Uint8Array {
    if (!(value instanceof Uint8Array)) throw new Error("expected a Uint8Array");
    return value;
  },
  decode(bytes: Uint8Array): Uint8Array {
    return bytes;
  },
};
