// Property tests of the protobuf codec (proto.ts). The reference is the codec's previous
// implementation on @bufbuild/protobuf's wire API (BinaryWriter/BinaryReader), kept here unchanged
// as the definition of the expected bytes, decoded values and error messages; the fast codec must
// match it for random messages, random wire bytes and random invalid values.
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  GO_ZERO_TIME_SECONDS,
  type SchedulerEnqueueEvent,
  type SchedulerEntry,
  type ServerInfo,
  type TaskMessage,
  type Timestamp,
  type WorkerInfo,
} from "./messages.js";
import {
  ProtoDecodeError,
  ProtoEncodeError,
  decodeSchedulerEnqueueEvent,
  decodeSchedulerEntry,
  decodeServerInfo,
  decodeTaskMessage,
  decodeWorkerInfo,
  encodeSchedulerEnqueueEvent,
  encodeSchedulerEntry,
  encodeServerInfo,
  encodeTaskMessage,
  encodeWorkerInfo,
  newSchedulerEnqueueEvent,
  newSchedulerEntry,
  newServerInfo,
  newTaskMessage,
  newWorkerInfo,
} from "./proto.js";
import { bufferStrings, strings } from "./proto-common.js";

// ---- Reference: field tables --------------------------------------------------------------------

/** The codec kinds and the TS type each one maps to. */
interface KindTypes {
  string: string;
  bytes: Uint8Array;
  int32: number;
  int64: bigint;
  bool: boolean;
  timestamp: Timestamp | null;
  "repeated string": string[];
  "map<string,string>": Record<string, string>;
  "map<string,int32>": Record<string, number>;
}
type Kind = keyof KindTypes;
/** The kind whose TS type is exactly `T`: a table row with the wrong kind does not compile. */
type KindOf<T> = {
  [K in Kind]: [T] extends [KindTypes[K]] ? ([KindTypes[K]] extends [T] ? K : never) : never;
}[Kind];

type Message = { unknownFields: Uint8Array };
type FieldKey<M> = Exclude<keyof M, "unknownFields"> & string;
type FieldSpec<M> = {
  [K in FieldKey<M>]: { readonly no: number; readonly key: K; readonly kind: KindOf<M[K]> };
}[FieldKey<M>];
type Field<M> = FieldSpec<M> & { readonly where: string };

interface Schema<M> {
  readonly name: string;
  /** In ascending field-number order: the order Go writes them in. */
  readonly fields: readonly Field<M>[];
  readonly byNo: ReadonlyMap<number, Field<M>>;
}

function schema<M extends Message>(name: string, specs: readonly FieldSpec<M>[]): Schema<M> {
  const fields = [...specs]
    .sort((a, b) => a.no - b.no)
    .map((f) => ({
      ...f,
      where: `${name} field ${f.no} (${f.key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase())})`,
    }));
  return { name, fields, byNo: new Map(fields.map((f) => [f.no, f])) };
}

const TASK_MESSAGE = schema<TaskMessage>("asynq.TaskMessage", [
  { no: 1, key: "type", kind: "string" },
  { no: 2, key: "payload", kind: "bytes" },
  { no: 3, key: "id", kind: "string" },
  { no: 4, key: "queue", kind: "string" },
  { no: 5, key: "retry", kind: "int32" },
  { no: 6, key: "retried", kind: "int32" },
  { no: 7, key: "errorMsg", kind: "string" },
  { no: 8, key: "timeout", kind: "int64" },
  { no: 9, key: "deadline", kind: "int64" },
  { no: 10, key: "uniqueKey", kind: "string" },
  { no: 11, key: "lastFailedAt", kind: "int64" },
  { no: 12, key: "retention", kind: "int64" },
  { no: 13, key: "completedAt", kind: "int64" },
  { no: 14, key: "groupKey", kind: "string" },
  { no: 15, key: "headers", kind: "map<string,string>" },
]);

const SERVER_INFO = schema<ServerInfo>("asynq.ServerInfo", [
  { no: 1, key: "host", kind: "string" },
  { no: 2, key: "pid", kind: "int32" },
  { no: 3, key: "serverId", kind: "string" },
  { no: 4, key: "concurrency", kind: "int32" },
  { no: 5, key: "queues", kind: "map<string,int32>" },
  { no: 6, key: "strictPriority", kind: "bool" },
  { no: 7, key: "status", kind: "string" },
  { no: 8, key: "startTime", kind: "timestamp" },
  { no: 9, key: "activeWorkerCount", kind: "int32" },
]);

const WORKER_INFO = schema<WorkerInfo>("asynq.WorkerInfo", [
  { no: 1, key: "host", kind: "string" },
  { no: 2, key: "pid", kind: "int32" },
  { no: 3, key: "serverId", kind: "string" },
  { no: 4, key: "taskId", kind: "string" },
  { no: 5, key: "taskType", kind: "string" },
  { no: 6, key: "taskPayload", kind: "bytes" },
  { no: 7, key: "queue", kind: "string" },
  { no: 8, key: "startTime", kind: "timestamp" },
  { no: 9, key: "deadline", kind: "timestamp" },
]);

const SCHEDULER_ENTRY = schema<SchedulerEntry>("asynq.SchedulerEntry", [
  { no: 1, key: "id", kind: "string" },
  { no: 2, key: "spec", kind: "string" },
  { no: 3, key: "taskType", kind: "string" },
  { no: 4, key: "taskPayload", kind: "bytes" },
  { no: 5, key: "enqueueOptions", kind: "repeated string" },
  { no: 6, key: "nextEnqueueTime", kind: "timestamp" },
  { no: 7, key: "prevEnqueueTime", kind: "timestamp" },
]);

const SCHEDULER_ENQUEUE_EVENT = schema<SchedulerEnqueueEvent>("asynq.SchedulerEnqueueEvent", [
  { no: 1, key: "taskId", kind: "string" },
  { no: 2, key: "enqueueTime", kind: "timestamp" },
]);

// ---- Reference: encoding ------------------------------------------------------------------------

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** The range Go's v0.24.1 readers (ptypes.Timestamp) accept: 0001-01-01 to 9999-12-31 (wire-format §2.6.8). */
const MIN_SECONDS = GO_ZERO_TIME_SECONDS;
const MAX_SECONDS = 253402300800n;
/** With the `u` flag a surrogate pair is one code point, so only lone surrogates match. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function checkString(v: unknown, where: string): string {
  if (typeof v !== "string") throw new ProtoEncodeError(`${where}: expected a string, got ${typeof v}`);
  if (LONE_SURROGATE.test(v)) throw new ProtoEncodeError(`${where}: lone surrogate, not encodable as UTF-8`);
  return v;
}

function checkInt32(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
    throw new ProtoEncodeError(`${where}: ${String(v)} is not an int32`);
  }
  return v;
}

function checkInt64(v: unknown, where: string): bigint {
  if (typeof v !== "bigint" || v < INT64_MIN || v > INT64_MAX) {
    throw new ProtoEncodeError(`${where}: ${String(v)} is not an int64 bigint`);
  }
  return v;
}

function checkObject(v: unknown, where: string): object {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ProtoEncodeError(`${where}: expected an object`);
  }
  return v;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0);
  return a.length - b.length;
}

function writeTimestamp(w: BinaryWriter, no: number, v: unknown, where: string): void {
  if (v === null) return; // absent on the wire; our writers never leave one out (see messages.ts)
  const { seconds, nanos } = checkObject(v, where) as Partial<Timestamp>;
  if (typeof seconds !== "bigint" || seconds < MIN_SECONDS || seconds >= MAX_SECONDS) {
    throw new ProtoEncodeError(`${where}: seconds ${String(seconds)} outside the years 0001-9999`);
  }
  if (typeof nanos !== "number" || !Number.isInteger(nanos) || nanos < 0 || nanos >= 1e9) {
    throw new ProtoEncodeError(`${where}: nanos ${String(nanos)} outside [0, 1e9)`);
  }
  w.tag(no, WireType.LengthDelimited).fork(); // written even when empty (wire-format §2.7)
  if (seconds !== 0n) w.tag(1, WireType.Varint).int64(seconds);
  if (nanos !== 0) w.tag(2, WireType.Varint).int32(nanos);
  w.join();
}

/** Map entries sorted by the UTF-8 bytes of their keys, as Go's deterministic marshal does. */
function writeMap(w: BinaryWriter, no: number, v: unknown, valueKind: "string" | "int32", where: string) {
  const entries = Object.entries(checkObject(v, where)).map(([key, value]: [string, unknown]) => {
    const at = `${where} key ${JSON.stringify(key)}`;
    return { key: utf8Encoder.encode(checkString(key, at)), value, at };
  });
  entries.sort((a, b) => compareBytes(a.key, b.key));
  for (const { key, value, at } of entries) {
    w.tag(no, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).bytes(key);
    if (valueKind === "string") w.tag(2, WireType.LengthDelimited).string(checkString(value, at));
    else w.tag(2, WireType.Varint).int32(checkInt32(value, at));
    w.join();
  }
}

function writeField(w: BinaryWriter, kind: Kind, no: number, v: unknown, where: string): void {
  const LEN = WireType.LengthDelimited;
  switch (kind) {
    case "string":
      if (checkString(v, where) !== "") w.tag(no, LEN).string(v as string);
      return;
    case "bytes":
      if (!(v instanceof Uint8Array)) throw new ProtoEncodeError(`${where}: expected a Uint8Array`);
      if (v.length > 0) w.tag(no, LEN).bytes(v);
      return;
    case "int32":
      if (checkInt32(v, where) !== 0) w.tag(no, WireType.Varint).int32(v as number);
      return;
    case "int64":
      if (checkInt64(v, where) !== 0n) w.tag(no, WireType.Varint).int64(v as bigint);
      return;
    case "bool":
      if (typeof v !== "boolean") throw new ProtoEncodeError(`${where}: expected a boolean`);
      if (v) w.tag(no, WireType.Varint).bool(true);
      return;
    case "timestamp":
      return writeTimestamp(w, no, v, where);
    case "repeated string":
      if (!Array.isArray(v)) throw new ProtoEncodeError(`${where}: expected an array`);
      v.forEach((s: unknown, i) => w.tag(no, LEN).string(checkString(s, `${where}[${i}]`)));
      return;
    case "map<string,string>":
      return writeMap(w, no, v, "string", where);
    case "map<string,int32>":
      return writeMap(w, no, v, "int32", where);
  }
}

function encodeMessage<M extends Message>(s: Schema<M>, m: M): Uint8Array {
  const w = new BinaryWriter();
  for (const f of s.fields) writeField(w, f.kind, f.no, m[f.key], f.where);
  if (!(m.unknownFields instanceof Uint8Array)) {
    throw new ProtoEncodeError(`${s.name}: unknownFields must be a Uint8Array`);
  }
  return w.raw(m.unknownFields).finish();
}

// ---- Reference: decoding ------------------------------------------------------------------------

/** BinaryReader with strict lengths (it would truncate a length varint to 32 bits) and no groups. */
class Reader extends BinaryReader {
  constructor(private readonly data: Uint8Array) {
    super(data);
  }

  /** The value of a length-delimited field. The result is a view on the input. */
  chunk(): Uint8Array {
    const n = BigInt(this.uint64());
    const left = this.len - this.pos;
    if (n > BigInt(left)) throw new RangeError(`length ${n} exceeds the ${left} bytes left`);
    this.pos += Number(n);
    return this.data.subarray(this.pos - Number(n), this.pos);
  }

  /** Skips a field value of wire type `wt`. */
  skipValue(wt: WireType): void {
    if (wt === WireType.Varint) this.uint64();
    else if (wt === WireType.LengthDelimited) this.chunk();
    else if (wt === WireType.Bit32 || wt === WireType.Bit64) {
      this.pos += wt === WireType.Bit32 ? 4 : 8;
      if (this.pos > this.len) throw new RangeError("premature EOF");
    } else throw new RangeError(`unsupported wire type ${wt} (groups are not used by asynq)`);
  }
}

function expectWireType(wt: WireType, kind: Kind, where: string): void {
  const want =
    kind === "int32" || kind === "int64" || kind === "bool" ? WireType.Varint : WireType.LengthDelimited;
  if (wt !== want) throw new ProtoDecodeError(`${where}: wire type ${wt}, expected ${want}`);
}

function decodeString(bytes: Uint8Array, where: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (e) {
    throw new ProtoDecodeError(`${where}: string field contains invalid UTF-8`, { cause: e });
  }
}

/** Reads the fields of a sub-message; `read` returns false for a field it does not know (skipped). */
function readSubMessage(bytes: Uint8Array, read: (no: number, wt: WireType, r: Reader) => boolean): void {
  const r = new Reader(bytes);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (!read(no, wt, r)) r.skipValue(wt);
  }
}

/** Merges a Timestamp occurrence into `base`, as proto3 merges repeated occurrences of a message field. */
function readTimestamp(bytes: Uint8Array, base: Timestamp | null, where: string): Timestamp {
  const ts = base === null ? { seconds: 0n, nanos: 0 } : { ...base };
  readSubMessage(bytes, (no, wt, r) => {
    if (no === 1) ts.seconds = readField(r, wt, "int64", 0n, `${where} seconds`) as bigint;
    else if (no === 2) ts.nanos = readField(r, wt, "int32", 0, `${where} nanos`) as number;
    return no === 1 || no === 2;
  });
  return ts;
}

/** Adds one map entry (missing key or value = default) to `map`; a later entry for a key wins. */
function readMapEntry(bytes: Uint8Array, map: object, valueKind: "string" | "int32", where: string): void {
  let key = "";
  let value: unknown = valueKind === "string" ? "" : 0;
  readSubMessage(bytes, (no, wt, r) => {
    if (no === 1) key = readField(r, wt, "string", "", `${where} key`) as string;
    else if (no === 2) value = readField(r, wt, valueKind, value, `${where} value`);
    return no === 1 || no === 2;
  });
  // defineProperty, so that a key such as "__proto__" is stored as data.
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

function readField(r: Reader, wt: WireType, kind: Kind, prev: unknown, where: string): unknown {
  expectWireType(wt, kind, where);
  switch (kind) {
    case "string":
      return decodeString(r.chunk(), where);
    case "bytes":
      return r.chunk().slice();
    case "int32":
      return r.int32();
    case "int64":
      return BigInt(r.int64());
    case "bool":
      return r.bool();
    case "timestamp":
      return readTimestamp(r.chunk(), prev as Timestamp | null, where);
    case "repeated string":
      (prev as string[]).push(decodeString(r.chunk(), where)); // `prev` is the decoder's own array
      return prev;
    case "map<string,string>":
    case "map<string,int32>":
      readMapEntry(r.chunk(), prev as object, kind === "map<string,string>" ? "string" : "int32", where);
      return prev;
  }
}

function decodeMessage<M extends Message>(s: Schema<M>, bytes: Uint8Array): M {
  if (!(bytes instanceof Uint8Array)) throw new ProtoDecodeError(`${s.name}: input is not a Uint8Array`);
  // Absent fields read as proto3 zero; an absent Timestamp as null (Go HEAD's AsTime() reads it as the epoch).
  const out = create(s, {}, null);
  const fields = out as Record<string, unknown>;
  const unknown = new BinaryWriter(); // raw tag + value of each unknown field, in input order
  const r = new Reader(bytes);
  let where = s.name;
  try {
    while (r.pos < r.len) {
      const start = r.pos;
      where = s.name; // until the tag is read
      const [no, wt] = r.tag();
      const f = s.byNo.get(no);
      where = f?.where ?? `${s.name} unknown field ${no}`;
      if (f !== undefined) {
        fields[f.key] = readField(r, wt, f.kind, fields[f.key], f.where);
      } else {
        r.skipValue(wt);
        unknown.raw(bytes.subarray(start, r.pos));
      }
    }
  } catch (e) {
    if (e instanceof ProtoDecodeError) throw e;
    throw new ProtoDecodeError(`${where}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  out.unknownFields = unknown.finish();
  return out;
}

// ---- Reference: constructors --------------------------------------------------------------------

const GO_ZERO_TIME: Timestamp = { seconds: GO_ZERO_TIME_SECONDS, nanos: 0 };

const ZERO: { readonly [K in Kind]: (ts: Timestamp | null) => KindTypes[K] } = {
  string: () => "",
  bytes: () => new Uint8Array(0),
  int32: () => 0,
  int64: () => 0n,
  bool: () => false,
  timestamp: (ts) => (ts === null ? null : { ...ts }),
  "repeated string": () => [],
  "map<string,string>": () => ({}),
  "map<string,int32>": () => ({}),
};

function create<M extends Message>(s: Schema<M>, given: Partial<M>, ts: Timestamp | null): M {
  const out: Record<string, unknown> = {};
  for (const f of s.fields) out[f.key] = given[f.key] !== undefined ? given[f.key] : ZERO[f.kind](ts);
  out.unknownFields = given.unknownFields ?? new Uint8Array(0);
  return out as M;
}

// ---- The codecs and their references ------------------------------------------------------------

/** One message type: the codec under test, the reference, and what a field may hold. */
interface Case {
  name: string;
  encode(m: object): Uint8Array;
  decode(bytes: Uint8Array): object;
  create(fields: object): object;
  refEncode(m: object): Uint8Array;
  refDecode(bytes: Uint8Array): object;
  refCreate(fields: object): object;
  /** Field key → kind, in field-number order. */
  kinds: Record<string, Kind>;
  /** The highest field number (unknown fields come above it). */
  maxField: number;
}

function testCase<M extends Message>(
  s: Schema<M>,
  encode: (m: M) => Uint8Array,
  decode: (bytes: Uint8Array) => M,
  construct: (fields: Partial<M>) => M,
): Case {
  return {
    name: s.name,
    encode: (m) => encode(m as M),
    decode,
    create: (fields) => construct(fields),
    refEncode: (m) => encodeMessage(s, m as M),
    refDecode: (bytes) => decodeMessage(s, bytes),
    refCreate: (fields) => create(s, fields as Partial<M>, GO_ZERO_TIME),
    kinds: Object.fromEntries(s.fields.map((f) => [f.key, f.kind])),
    maxField: Math.max(...s.fields.map((f) => f.no)),
  };
}

const CASES: Case[] = [
  testCase<TaskMessage>(TASK_MESSAGE, encodeTaskMessage, decodeTaskMessage, newTaskMessage),
  testCase<ServerInfo>(SERVER_INFO, encodeServerInfo, decodeServerInfo, newServerInfo),
  testCase<WorkerInfo>(WORKER_INFO, encodeWorkerInfo, decodeWorkerInfo, newWorkerInfo),
  testCase<SchedulerEntry>(SCHEDULER_ENTRY, encodeSchedulerEntry, decodeSchedulerEntry, newSchedulerEntry),
  testCase<SchedulerEnqueueEvent>(
    SCHEDULER_ENQUEUE_EVENT,
    encodeSchedulerEnqueueEvent,
    decodeSchedulerEnqueueEvent,
    newSchedulerEnqueueEvent,
  ),
];

// ---- Comparison ---------------------------------------------------------------------------------

const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");

/**
 * A value in a form that toEqual compares strictly: the class of byte arrays, bigints, the order of
 * object keys (map entries keep the order they were decoded in) and plain-object prototypes count.
 */
function norm(v: unknown): unknown {
  if (v instanceof Uint8Array) return { [Buffer.isBuffer(v) ? "Buffer" : v.constructor.name]: hex(v) };
  if (typeof v === "bigint") return { bigint: String(v) };
  if (Array.isArray(v)) return { array: v.map(norm) };
  if (typeof v === "object" && v !== null) {
    const plain = Object.getPrototypeOf(v) === Object.prototype;
    return { object: Object.entries(v).map(([key, value]) => [key, norm(value)]), plain };
  }
  return v;
}

/** What running `fn` gives: its normalized result, or the class, message and cause of its error. */
function outcome(fn: () => unknown): unknown {
  try {
    return { ok: norm(fn()) };
  } catch (e) {
    if (!(e instanceof Error)) return { thrown: e };
    const cause = e.cause instanceof Error ? e.cause.constructor.name : e.cause;
    return { error: e.constructor.name, message: e.message, code: (e as { code?: string }).code, cause };
  }
}

// ---- Generators ---------------------------------------------------------------------------------

const zeroOr = <T>(zero: T, arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: 1, arbitrary: fc.constant(zero) }, { weight: 2, arbitrary: arbitrary });

/** Well-formed strings: ASCII and any code point, short and long (over 40 bytes), and special ones. */
const TEXT: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 16 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 16 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 13, maxLength: 120 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 13, maxLength: 120 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "",
      "\uFEFF",
      "\uFFFD",
      "é",
      "😀",
      "｡",
      "__proto__",
      "constructor",
      "toString",
      "1",
      "0",
      "default",
      "critical",
      "bench:noop",
      "x".repeat(41),
      "\uFFFD".repeat(41),
      "é".repeat(21),
      "a".repeat(64),
      "a".repeat(65),
    ),
  },
);

const INT32 = fc.oneof(
  fc.integer({ min: -300, max: 300 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.constantFrom(-(2 ** 31), 2 ** 31 - 1, -1, 127, 128, 16383, 16384, 2 ** 28 - 1, 2 ** 28),
);

const INT64 = fc
  .oneof(
    fc.bigInt({ min: -1000n, max: 100_000n }),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc
      .integer({ min: 0, max: 63 })
      .chain((bits) => fc.bigInt({ min: -(2n ** BigInt(bits)), max: 2n ** BigInt(bits) })),
    fc.constantFrom(
      ...[0n, 31n, 32n, 35n, 42n, 49n, 53n, 56n, 63n].flatMap((bits) => {
        const p = 2n ** bits;
        return [p - 1n, p, p + 1n, -p, -p - 1n, -p + 1n];
      }),
    ),
  )
  .filter((v) => v >= -(2n ** 63n) && v < 2n ** 63n);

const BYTES = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 1100 }) },
);

const TIMESTAMP: fc.Arbitrary<Timestamp | null> = fc.option(
  fc.record({
    seconds: fc.oneof(
      fc.constantFrom(0n, GO_ZERO_TIME_SECONDS, 253402300799n, -1n, 1_700_000_000n),
      fc.bigInt({ min: GO_ZERO_TIME_SECONDS, max: 253402300799n }),
    ),
    nanos: fc.oneof(fc.constantFrom(0, 1, 999_999_999), fc.integer({ min: 0, max: 999_999_999 })),
  }),
  { nil: null },
);

/** An object with the given entries as own data properties (so "__proto__" is a key too). */
function objectOf<V>(entries: readonly (readonly [string, V])[]): Record<string, V> {
  const out: Record<string, V> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const mapOf = <V>(value: fc.Arbitrary<V>) =>
  fc.array(fc.tuple(TEXT, value), { maxLength: 6 }).map((entries) => objectOf(entries));

const KIND_ARBITRARY: { [K in Kind]: fc.Arbitrary<KindTypes[K]> } = {
  string: zeroOr("", TEXT),
  bytes: zeroOr(new Uint8Array(0), BYTES),
  int32: zeroOr(0, INT32),
  int64: zeroOr(0n, INT64),
  bool: fc.boolean(),
  timestamp: TIMESTAMP,
  "repeated string": fc.array(TEXT, { maxLength: 4 }),
  "map<string,string>": zeroOr({}, mapOf(TEXT)),
  "map<string,int32>": zeroOr({}, mapOf(INT32)),
};

/** Minimal varint bytes of 0 <= v < 2^64. */
function varint(v: bigint): number[] {
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return out;
}

/** The varint of `v` padded with `extra` redundant bytes (non-minimal, which decoders accept). */
function overlong(v: bigint, extra: number): number[] {
  const bytes = varint(v);
  bytes[bytes.length - 1]! |= 0x80;
  for (let i = 1; i < extra; i++) bytes.push(0x80);
  bytes.push(0);
  return bytes;
}

/** Valid unknown fields (numbers above `maxField`) of every wire type but groups. */
function unknownFields(maxField: number): fc.Arbitrary<Uint8Array> {
  const field = fc.record({
    no: fc.oneof(
      fc.integer({ min: maxField + 1, max: 40 }),
      fc.integer({ min: maxField + 1, max: 2 ** 29 - 1 }),
    ),
    wireType: fc.constantFrom(WireType.Varint, WireType.Bit64, WireType.LengthDelimited, WireType.Bit32),
    value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    bytes: fc.uint8Array({ maxLength: 20 }),
  });
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(new Uint8Array(0)) },
    {
      weight: 1,
      arbitrary: fc.array(field, { minLength: 1, maxLength: 3 }).map((fields) => {
        const w = new BinaryWriter();
        for (const f of fields) {
          w.tag(f.no, f.wireType);
          if (f.wireType === WireType.Varint) w.uint64(f.value);
          else if (f.wireType === WireType.Bit64) w.fixed64(f.value);
          else if (f.wireType === WireType.LengthDelimited) w.bytes(f.bytes);
          else w.fixed32(Number(f.value & 0xffffffffn));
        }
        return w.finish();
      }),
    },
  );
}

/** Valid messages of `c`'s type, fields in field-number order. */
function messages(c: Case): fc.Arbitrary<Record<string, unknown>> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, kind] of Object.entries(c.kinds)) model[key] = KIND_ARBITRARY[kind];
  // Repeated task types and queue names, as real traffic has them (the decoder caches them).
  if (c.name === "asynq.TaskMessage") {
    model.type = fc.oneof(fc.constantFrom("a", "b", "aa", "ab", "ba", "bb", "bench:noop"), TEXT);
    model.queue = fc.oneof(fc.constantFrom("default", "critical", "low"), TEXT);
  }
  model.unknownFields = unknownFields(c.maxField);
  return fc.record(model);
}

const byte = fc.integer({ min: 0, max: 255 });

/** A varint value: small, any 64-bit, non-minimal, or junk (too long, unterminated). */
const VARINT: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 300n }).map(varint) },
  { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(varint) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 63 }).map((bits) => varint(2n ** BigInt(bits))) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.bigInt({ min: 0n, max: 2n ** 35n }), fc.integer({ min: 1, max: 6 }))
      .map(([v, extra]) => overlong(v, extra)),
  },
  { weight: 1, arbitrary: fc.array(byte, { minLength: 1, maxLength: 12 }) },
);

/** Bytes of a length-delimited value meant as a string: valid UTF-8 or not, short or long. */
const STRING_BYTES: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 4, arbitrary: TEXT.map((s) => [...Buffer.from(s)]) },
  { weight: 1, arbitrary: fc.array(byte, { maxLength: 60 }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        TEXT,
        fc.nat(),
        fc.constantFrom(0x80, 0xbf, 0xc0, 0xc3, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff),
      )
      .map(([s, at, bad]) => {
        const bytes = [...Buffer.from(s)];
        bytes.splice(at % (bytes.length + 1), 0, bad);
        return bytes;
      }),
  },
);

/** The wire type of each kind of field. */
const WIRE_TYPE: { [K in Kind]: WireType } = {
  string: WireType.LengthDelimited,
  bytes: WireType.LengthDelimited,
  int32: WireType.Varint,
  int64: WireType.Varint,
  bool: WireType.Varint,
  timestamp: WireType.LengthDelimited,
  "repeated string": WireType.LengthDelimited,
  "map<string,string>": WireType.LengthDelimited,
  "map<string,int32>": WireType.LengthDelimited,
};

/**
 * Wire bytes built field by field: tags of known fields (mostly with their own wire type) and of
 * unknown ones with every wire type, valid or not, sometimes non-minimal; values that mostly fit the
 * wire type; length-delimited values holding strings or nested fields (for Timestamps and map
 * entries: fields 1 and 2 with either wire type), with a right or a wrong length.
 */
function wireFields(
  depth: number,
  wireTypes: readonly (readonly [number, number])[],
): fc.Arbitrary<number[]> {
  const subFields = [
    [1, WireType.Varint],
    [2, WireType.Varint],
    [1, WireType.LengthDelimited],
    [2, WireType.LengthDelimited],
  ] as const;
  const content = depth > 0 ? fc.oneof(STRING_BYTES, wireFields(depth - 1, subFields)) : STRING_BYTES;
  const numbers = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...wireTypes) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 18 }), fc.integer({ min: 0, max: 7 })) },
  );
  const field = numbers.chain(([no, wt]) => {
    const key = BigInt(no * 8 + wt);
    const tag = fc.oneof(
      { weight: 12, arbitrary: fc.constant(varint(key)) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 }).map((extra) => overlong(key, extra)) },
      { weight: 1, arbitrary: VARINT },
    );
    let value: fc.Arbitrary<number[]>;
    if (wt === 0) value = VARINT;
    else if (wt === 1 || wt === 5) value = fc.array(byte, { minLength: 0, maxLength: wt === 1 ? 9 : 5 });
    else if (wt === 2) {
      value = fc.oneof(
        { weight: 6, arbitrary: content.map((c) => [...varint(BigInt(c.length)), ...c]) },
        { weight: 1, arbitrary: fc.tuple(VARINT, content).map(([length, c]) => [...length, ...c]) },
      );
    } else value = fc.array(byte, { maxLength: 3 });
    return fc.tuple(tag, value).map(([t, v]) => [...t, ...v]);
  });
  return fc.array(field, { maxLength: 6 }).map((fields) => fields.flat());
}

/** How the decoder gets its input: a Uint8Array, a Buffer, or a view at an offset of a larger array. */
const INPUT_FORM = fc.constantFrom("Uint8Array", "Buffer", "offset view");

function asInput(bytes: Uint8Array | number[], form: string): Uint8Array {
  const data = Uint8Array.from(bytes);
  if (form === "Buffer") return Buffer.from(data);
  if (form === "offset view") {
    const big = new Uint8Array(data.length + 10).fill(0xaa);
    big.set(data, 3);
    return big.subarray(3, 3 + data.length);
  }
  return data;
}

const INVALID: { [K in Kind]: unknown[] } = {
  string: ["\uD800", "a\uDC00b", "x".repeat(50) + "\uD83D", "\uDE00😀", 1, null, undefined, {}, 1n],
  bytes: ["ab", [1, 2], null, undefined, new ArrayBuffer(2)],
  int32: [2 ** 31, -(2 ** 31) - 1, 1.5, -0.5, NaN, Infinity, "1", 1n, null, undefined],
  int64: [2n ** 63n, -(2n ** 63n) - 1n, 2n ** 64n, 5, "5", null, undefined],
  bool: [1, 0, "true", null, undefined],
  timestamp: [
    { seconds: 1, nanos: 0 },
    { seconds: GO_ZERO_TIME_SECONDS - 1n, nanos: 0 },
    { seconds: 253402300800n, nanos: 0 },
    { seconds: 0n, nanos: -1 },
    { seconds: 0n, nanos: 1e9 },
    { seconds: 0n, nanos: 0.5 },
    { seconds: 0n },
    {},
    5,
    [],
    "x",
    undefined,
  ],
  "repeated string": ["x", [1], ["ok", "\uD800"], null, {}],
  "map<string,string>": [
    null,
    [],
    "x",
    5,
    { k: 1 },
    { "\uD800": "v" },
    { k: "\uDC00" },
    { a: "ok", b: null },
  ],
  "map<string,int32>": [null, [], { q: "1" }, { q: 1.5 }, { "q\uD800": 1 }, { a: 1, b: 2 ** 31 }],
};

// ---- Properties ---------------------------------------------------------------------------------

const RUNS = 400;

describe.each(CASES)("$name against the reference codec", (c) => {
  it("encodes random messages to the reference's bytes, and decodes them back", () => {
    fc.assert(
      fc.property(messages(c), (m) => {
        const bytes = c.encode(m);
        expect(hex(bytes)).toBe(hex(c.refEncode(m)));
        expect(bytes.constructor).toBe(Uint8Array);
        const decoded = c.decode(bytes);
        expect(decoded).toEqual(m);
        expect(norm(decoded)).toEqual(norm(c.refDecode(bytes)));
        expect(hex(c.encode(decoded))).toBe(hex(bytes)); // encode(decode(x)) = x
      }),
      { numRuns: RUNS },
    );
  });

  it("decodes encoded messages given as a Buffer or an offset view like the reference", () => {
    fc.assert(
      fc.property(messages(c), INPUT_FORM, (m, form) => {
        const input = asInput(c.refEncode(m), form);
        expect(norm(c.decode(input))).toEqual(norm(c.refDecode(input)));
      }),
      { numRuns: RUNS },
    );
  });

  it("decodes random wire bytes to the reference's value or error", () => {
    const knownWireTypes = Object.values(c.kinds).map((kind, i) => [i + 1, WIRE_TYPE[kind]] as const);
    fc.assert(
      fc.property(wireFields(2, knownWireTypes), INPUT_FORM, (bytes, form) => {
        const input = asInput(bytes, form);
        expect(outcome(() => c.decode(input))).toEqual(outcome(() => c.refDecode(input)));
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it("decodes truncated and corrupted encodings to the reference's value or error", () => {
    const edit = fc.tuple(fc.constantFrom("set", "cut", "insert", "delete"), fc.nat(), byte);
    fc.assert(
      fc.property(
        messages(c),
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        INPUT_FORM,
        (m, edits, form) => {
          const bytes = [...c.refEncode(m)];
          for (const [op, at, value] of edits) {
            const i = at % (bytes.length + 1);
            if (op === "set" && i < bytes.length) bytes[i] = value;
            else if (op === "cut") bytes.length = i;
            else if (op === "insert") bytes.splice(i, 0, value);
            else bytes.splice(i, 1);
          }
          const input = asInput(bytes, form);
          expect(outcome(() => c.decode(input))).toEqual(outcome(() => c.refDecode(input)));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("decodes random bytes to the reference's value or error", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(outcome(() => c.decode(bytes))).toEqual(outcome(() => c.refDecode(bytes)));
      }),
      { numRuns: RUNS },
    );
  });

  it("rejects invalid field values with the reference's error", () => {
    const keys = [...Object.keys(c.kinds), "unknownFields"];
    const change = fc.tuple(fc.constantFrom(...keys), fc.nat());
    fc.assert(
      fc.property(messages(c), fc.array(change, { minLength: 1, maxLength: 2 }), (m, changes) => {
        const bad: Record<string, unknown> = { ...m };
        for (const [key, pick] of changes) {
          const kind = c.kinds[key];
          const values = kind === undefined ? [null, [1], "x", undefined] : INVALID[kind];
          bad[key] = values[pick % values.length];
        }
        const ours = outcome(() => c.encode(bad));
        expect(ours).toEqual(outcome(() => c.refEncode(bad)));
        expect(ours).toMatchObject({ error: "ProtoEncodeError", code: "ERR_PROTO_ENCODE" });
      }),
      { numRuns: RUNS },
    );
  });

  it("constructs messages like the reference", () => {
    const partial = messages(c).chain((m) =>
      fc.subarray(Object.keys(m)).map((keys) => Object.fromEntries(keys.map((k) => [k, m[k]]))),
    );
    fc.assert(
      fc.property(partial, fc.boolean(), (fields, withUndefined) => {
        if (withUndefined) for (const key of Object.keys(c.kinds).slice(0, 3)) fields[key] = undefined;
        expect(norm(c.create(fields))).toEqual(norm(c.refCreate(fields)));
      }),
      { numRuns: RUNS / 4 },
    );
  });
});

// ---- Edge cases the random inputs rarely hit ---------------------------------------------------

describe("edge cases, against the reference codec", () => {
  const SERVER = CASES[1]!;

  it.each([
    ["bool 1", "3001"],
    ["bool 2^32 (low half 0)", "308080808010"],
    ["bool 2^63", "3080808080808080808001"],
    ["bool 0, non-minimal", "308000"],
    ["tag in 5 bytes", "b0808080000108"],
    ["tag in 5 bytes, too large", "b080808010"],
    ["int32 from a 10-byte varint", "10ffffffffffffffffff01"],
    ["int32 from an 11-byte varint", "10ffffffffffffffffffff01"],
    ["length 2^64 - 1", "0affffffffffffffffff01"],
  ])("ServerInfo: %s", (_, input) => {
    const bytes = Uint8Array.from(Buffer.from(input, "hex"));
    expect(outcome(() => SERVER.decode(bytes))).toEqual(outcome(() => SERVER.refDecode(bytes)));
  });

  // Task types and queue names: equal and different strings of equal length, in every order
  // (the codec remembers the last one of each).
  const NAMES = [
    "",
    "a",
    "b",
    "é",
    "e",
    "aa",
    "ab",
    "ba",
    "bb",
    "ab\uFFFD",
    "a".repeat(64),
    "a".repeat(65),
    "b".repeat(64),
  ];

  it("encodes and decodes task types and queue names in any sequence", () => {
    for (const first of NAMES) {
      for (const second of NAMES) {
        for (const name of [first, second, second.split("").join("")]) {
          const m = newTaskMessage({ type: name, queue: name, id: "x" });
          const bytes = encodeTaskMessage(m);
          expect(hex(bytes)).toBe(hex(encodeMessage(TASK_MESSAGE, m)));
          expect(decodeTaskMessage(bytes)).toEqual(m);
          expect(decodeTaskMessage(Buffer.from(bytes)).type).toBe(name);
        }
      }
    }
  });
});

// ---- Memory the codec shares between results ----------------------------------------------------

describe("results sharing the codec's slab", () => {
  const task = (i: number) =>
    newTaskMessage({
      type: "bench:noop",
      payload: new TextEncoder().encode(`{"n":${i}}`),
      id: `id-${i}`,
      queue: i % 2 === 0 ? "default" : "low",
      retry: 25,
      timeout: 1800n,
    });

  it("never change after later encodes and decodes", () => {
    const kept: { i: number; bytes: Uint8Array; msg: TaskMessage }[] = [];
    for (let i = 0; i < 5000; i++) {
      const bytes = encodeTaskMessage(task(i));
      const msg = decodeTaskMessage(i % 3 === 0 ? Buffer.from(bytes) : bytes);
      if (i % 7 === 0) kept.push({ i, bytes, msg });
    }
    for (const { i, bytes, msg } of kept) {
      expect(hex(bytes)).toBe(hex(encodeMessage(TASK_MESSAGE, task(i))));
      expect({ ...msg, payload: new Uint8Array(msg.payload) }).toEqual(task(i));
    }
  });

  it("decodes payloads into memory of their own, not the input", () => {
    const input = Buffer.from(encodeTaskMessage(task(1)));
    const msg = decodeTaskMessage(input);
    expect(Buffer.isBuffer(msg.payload)).toBe(true);
    input.fill(0);
    expect(Buffer.from(msg.payload).toString()).toBe('{"n":1}');
  });

  it("are not taken from each other by a transfer of their ArrayBuffer", () => {
    const bytes = encodeTaskMessage(task(1));
    const other = encodeTaskMessage(task(2));
    const decoded = decodeTaskMessage(Buffer.from(bytes));
    for (const view of [bytes, decoded.payload, decoded.unknownFields]) {
      try {
        structuredClone(view, { transfer: [view.buffer as ArrayBuffer] });
      } catch (e) {
        expect(e).toMatchObject({ name: "DataCloneError" }); // newer Node refuses; Node 20 copies
      }
    }
    expect(hex(bytes)).toBe(hex(encodeMessage(TASK_MESSAGE, task(1))));
    expect(hex(other)).toBe(hex(encodeMessage(TASK_MESSAGE, task(2))));
    expect(hex(decoded.payload)).toBe(hex(task(1).payload));
    const again = encodeTaskMessage(task(3));
    expect(decodeTaskMessage(again)).toEqual(task(3));
    expect(decodeTaskMessage(Buffer.from(again)).unknownFields).toEqual(new Uint8Array(0));
  });

  it("refuse Proxies of byte arrays, which could run code in the middle of a decode or an encode", () => {
    const bytes = encodeTaskMessage(task(1));
    expect(() => decodeTaskMessage(new Proxy(bytes, {}))).toThrow(ProtoDecodeError);
    const m = { ...task(1), payload: new Proxy(task(1).payload, {}) };
    expect(() => encodeTaskMessage(m)).toThrow(/field 2 \(payload\): expected a Uint8Array/);
  });

  it("decode only the bytes that an input's own length property admits", () => {
    const input = Buffer.from(encodeTaskMessage(task(1)));
    Object.defineProperty(input, "length", { value: input.byteLength - 2 });
    expect(() => decodeTaskMessage(input)).toThrow(/premature EOF/);
  });

  it("encodes and decodes messages larger than the slab's pieces", () => {
    const big = newTaskMessage({
      type: "t",
      payload: new Uint8Array(100_000).fill(7),
      errorMsg: "e".repeat(5000),
    });
    const bytes = encodeTaskMessage(big);
    expect(hex(bytes)).toBe(hex(encodeMessage(TASK_MESSAGE, big)));
    expect(decodeTaskMessage(bytes)).toEqual(big);
    expect(norm(decodeTaskMessage(Buffer.from(bytes)))).toEqual(
      norm(decodeMessage(TASK_MESSAGE, Buffer.from(bytes))),
    );
  });
});

// ---- Without Buffer's own per-encoding methods --------------------------------------------------

describe("string conversions without Buffer's latin1Slice, utf8Slice, latin1Write and utf8Write", () => {
  const fallback = bufferStrings({});

  it("give the same results as with them", () => {
    fc.assert(
      fc.property(STRING_BYTES, fc.nat(), fc.nat(), (bytes, a, b) => {
        const buf = Buffer.from(bytes);
        const start = a % (buf.length + 1);
        const end = start + (b % (buf.length - start + 1));
        expect(fallback.latin1Slice(buf, start, end)).toBe(strings.latin1Slice(buf, start, end));
        expect(fallback.utf8Slice(buf, start, end)).toBe(strings.utf8Slice(buf, start, end));
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(TEXT, fc.nat(5), (text, offset) => {
        const n = Buffer.byteLength(text);
        const [ours, theirs] = [Buffer.alloc(n + 5), Buffer.alloc(n + 5)];
        expect(fallback.utf8Write(ours, text, offset, n)).toBe(strings.utf8Write(theirs, text, offset, n));
        expect(hex(ours)).toBe(hex(theirs));
        const ascii = [...text].map((ch) => (ch.charCodeAt(0) < 0x80 ? ch : "?")).join("");
        expect(fallback.latin1Write(ours, ascii, offset, ascii.length)).toBe(
          strings.latin1Write(theirs, ascii, offset, ascii.length),
        );
        expect(hex(ours)).toBe(hex(theirs));
      }),
      { numRuns: RUNS },
    );
  });
});
