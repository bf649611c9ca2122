// The payload codecs of typed tasks, pure: the JSON codec writes what Go's json.Marshal writes for
// the same struct (where the two can agree), refuses what Go refuses, and reads strict UTF-8.
import { describe, expect, it } from "vitest";
import { bytesCodec, jsonCodec, textCodec } from "../../src/tasks/codec.js";

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString("utf8");

/**
 * Go's output, written by hand from encoding/json's rules (Go 1.22+): `json.Marshal(v)` of a struct
 * whose fields are declared in the order of the JS object's keys, with the `json:"…"` tags named
 * after them. Go escapes <, >, & and U+2028/U+2029 (HTMLEscape on by default), short-escapes
 * \b \f \n \r \t, writes other control characters as lower-case \u00XX, and formats float64 as
 * ES6's Number#toString does (exponent cut-offs 1e-6 and 1e21).
 */
const GO_VECTORS: Array<{ name: string; value: unknown; go: string }> = [
  {
    name: "struct { UserID int; Email string }",
    value: { userId: 42, email: "ada@example.com" },
    go: '{"userId":42,"email":"ada@example.com"}',
  },
  {
    name: "HTML characters",
    value: { note: "<b>Tom & Jerry</b>" },
    go: '{"note":"\\u003cb\\u003eTom \\u0026 Jerry\\u003c/b\\u003e"}',
  },
  {
    name: "line and paragraph separators",
    value: { s: "a\u2028b\u2029c" },
    go: '{"s":"a\\u2028b\\u2029c"}',
  },
  {
    name: "control characters and quotes",
    value: { s: 'tab\tnl\ncr\r"q"\\\b\f\u0001\u001f\u007f' },
    go: '{"s":"tab\\tnl\\ncr\\r\\"q\\"\\\\\\b\\f\\u0001\\u001f\u007f"}',
  },
  { name: "non-ASCII stays literal", value: { s: "héllo ✓ 😀" }, go: '{"s":"héllo ✓ 😀"}' },
  {
    name: "float64 values",
    value: { a: 1.5, b: 1e21, c: 1e-7, d: 123456789012, e: -0.000001, f: 0.1 },
    go: '{"a":1.5,"b":1e+21,"c":1e-7,"d":123456789012,"e":-0.000001,"f":0.1}',
  },
  {
    name: "slices, nested structs, nil pointers and bools",
    value: { ids: [1, 2, 3], user: { name: "x", admin: false }, parent: null, tags: [] },
    go: '{"ids":[1,2,3],"user":{"name":"x","admin":false},"parent":null,"tags":[]}',
  },
  { name: "a bare string", value: "a<b", go: '"a\\u003cb"' },
  { name: "a bare number", value: 7, go: "7" },
];

describe("jsonCodec", () => {
  const codec = jsonCodec<unknown>();

  it.each(GO_VECTORS)("$name: the bytes equal Go's json.Marshal", ({ value, go }) => {
    expect(text(codec.encode(value))).toBe(go);
    expect(codec.decode(codec.encode(value))).toEqual(value);
  });

  it("with escapeHTML false writes exactly what JSON.stringify writes", () => {
    const plain = jsonCodec<unknown>({ escapeHTML: false });
    for (const { value } of GO_VECTORS) expect(text(plain.encode(value))).toBe(JSON.stringify(value));
  });

  it("differs from Go where JS cannot know the Go type: -0, and integer-like keys come first", () => {
    // Go: float64(-0) is "-0"; JSON.stringify writes 0.
    expect(text(codec.encode({ x: -0 }))).toBe('{"x":0}');
    // Go sorts map keys ("10" < "9"); a JS object lists integer-like keys first, ascending.
    expect(text(codec.encode({ b: 1, 9: 2, 10: 3 }))).toBe('{"9":2,"10":3,"b":1}');
  });

  it.each([
    ["NaN", { x: Number.NaN }, /NaN \(at "x"\) has no JSON form/],
    ["Infinity", [Infinity], /Infinity \(at "0"\) has no JSON form/],
    ["a BigInt", { n: 1n }, /BigInt/],
    ["undefined", undefined, /undefined has no JSON form/],
    ["a function", () => 1, /function has no JSON form/],
  ])("refuses %s, as Go's json.Marshal does", (_name, value, message) => {
    expect(() => codec.encode(value)).toThrow(message);
  });

  it("writes a Date as its ISO string (what Go's time.Time reads back)", () => {
    expect(text(codec.encode({ at: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)) }))).toBe(
      '{"at":"2030-01-02T03:04:05.000Z"}',
    );
  });

  it("decodes only strict UTF-8 JSON", () => {
    expect(codec.decode(Buffer.from('{"a":"\\u003c"}'))).toEqual({ a: "<" });
    expect(() => codec.decode(Uint8Array.of(0x7b, 0xff, 0x7d))).toThrow(TypeError);
    expect(() => codec.decode(Buffer.from("{not json"))).toThrow(SyntaxError);
  });
});

describe("textCodec and bytesCodec", () => {
  it("textCodec stores a string as its UTF-8 bytes, unquoted, and refuses lone surrogates", () => {
    expect(text(textCodec.encode("a<b ✓"))).toBe("a<b ✓");
    expect(textCodec.decode(Buffer.from("a<b ✓"))).toBe("a<b ✓");
    expect(() => textCodec.encode("\ud800")).toThrow(/lone surrogate/);
    expect(() => textCodec.encode(5 as unknown as string)).toThrow(/expected a string/);
    expect(() => textCodec.decode(Uint8Array.of(0xff))).toThrow(TypeError);
  });

  it("bytesCodec keeps bytes as they are", () => {
    const bytes = Uint8Array.of(0, 255, 7);
    expect(bytesCodec.encode(bytes)).toBe(bytes);
    expect(bytesCodec.decode(bytes)).toBe(bytes);
    expect(() => bytesCodec.encode("x" as unknown as Uint8Array)).toThrow(/Uint8Array/);
  });
});
