// Hand-written proto3 codec for asynq's five wire messages (spec §2), on @bufbuild/protobuf's wire API.
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import {
  GO_ZERO_TIME_SECONDS,
  type SchedulerEnqueueEvent,
  type SchedulerEntry,
  type ServerInfo,
  type TaskMessage,
  type Timestamp,
  type WorkerInfo,
} from "./messages.js";

/** Bytes that are not a valid encoding of the expected message. */
export class ProtoDecodeError extends Error {
  readonly code = "ERR_PROTO_DECODE";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtoDecodeError";
  }
}

/** A message value that cannot be encoded so that Go can read it back. */
export class ProtoEncodeError extends Error {
  readonly code = "ERR_PROTO_ENCODE";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtoEncodeError";
  }
}

// ---- Field tables -------------------------------------------------------------------------------

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

// ---- Encoding -----------------------------------------------------------------------------------

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** The range Go's v0.24.1 readers (ptypes.Timestamp) accept: 0001-01-01 to 9999-12-31 (spec §2.6.8). */
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
  w.tag(no, WireType.LengthDelimited).fork(); // written even when empty (spec §2.7)
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

// ---- Decoding -----------------------------------------------------------------------------------

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

// ---- Constructors -------------------------------------------------------------------------------

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

/** A TaskMessage with `fields` set, the rest at defaults (Timestamps: Go's zero time). */
export function newTaskMessage(fields: Partial<TaskMessage>): TaskMessage {
  return create(TASK_MESSAGE, fields, GO_ZERO_TIME);
}

/** A ServerInfo with `fields` set, the rest at defaults (Timestamps: Go's zero time). */
export function newServerInfo(fields: Partial<ServerInfo>): ServerInfo {
  return create(SERVER_INFO, fields, GO_ZERO_TIME);
}

/** A WorkerInfo with `fields` set, the rest at defaults (Timestamps: Go's zero time). */
export function newWorkerInfo(fields: Partial<WorkerInfo>): WorkerInfo {
  return create(WORKER_INFO, fields, GO_ZERO_TIME);
}

/** A SchedulerEntry with `fields` set, the rest at defaults (Timestamps: Go's zero time). */
export function newSchedulerEntry(fields: Partial<SchedulerEntry>): SchedulerEntry {
  return create(SCHEDULER_ENTRY, fields, GO_ZERO_TIME);
}

/** A SchedulerEnqueueEvent with `fields` set, the rest at defaults (Timestamps: Go's zero time). */
export function newSchedulerEnqueueEvent(fields: Partial<SchedulerEnqueueEvent>): SchedulerEnqueueEvent {
  return create(SCHEDULER_ENQUEUE_EVENT, fields, GO_ZERO_TIME);
}

// ---- Public codec -------------------------------------------------------------------------------
// Encoders write known fields in field-number order, omit proto3 zero values but write every
// non-null Timestamp (even an empty one), sort map entries by key and append `unknownFields`.
// Decoders accept any field order, keep the last value of a repeated scalar, read an absent
// Timestamp as null, keep unknown fields and reject malformed bytes.

/**
 * Encodes a TaskMessage (the task hash field `msg`).
 * @throws {@link ProtoEncodeError} on an out-of-range number or Timestamp, a lone surrogate or a wrong type.
 */
export function encodeTaskMessage(m: TaskMessage): Uint8Array {
  return encodeMessage(TASK_MESSAGE, m);
}

/**
 * Decodes a TaskMessage.
 * @throws {@link ProtoDecodeError} on truncated or malformed bytes, a wrong wire type or invalid UTF-8.
 */
export function decodeTaskMessage(bytes: Uint8Array): TaskMessage {
  return decodeMessage(TASK_MESSAGE, bytes);
}

/**
 * Encodes a ServerInfo (the value of `asynq:servers:{...}`).
 * @throws {@link ProtoEncodeError} on an out-of-range number or Timestamp, a lone surrogate or a wrong type.
 */
export function encodeServerInfo(m: ServerInfo): Uint8Array {
  return encodeMessage(SERVER_INFO, m);
}

/**
 * Decodes a ServerInfo.
 * @throws {@link ProtoDecodeError} on truncated or malformed bytes, a wrong wire type or invalid UTF-8.
 */
export function decodeServerInfo(bytes: Uint8Array): ServerInfo {
  return decodeMessage(SERVER_INFO, bytes);
}

/**
 * Encodes a WorkerInfo (a value of the hash `asynq:workers:{...}`).
 * @throws {@link ProtoEncodeError} on an out-of-range number or Timestamp, a lone surrogate or a wrong type.
 */
export function encodeWorkerInfo(m: WorkerInfo): Uint8Array {
  return encodeMessage(WORKER_INFO, m);
}

/**
 * Decodes a WorkerInfo.
 * @throws {@link ProtoDecodeError} on truncated or malformed bytes, a wrong wire type or invalid UTF-8.
 */
export function decodeWorkerInfo(bytes: Uint8Array): WorkerInfo {
  return decodeMessage(WORKER_INFO, bytes);
}

/**
 * Encodes a SchedulerEntry (an element of `asynq:schedulers:{...}`).
 * @throws {@link ProtoEncodeError} on an out-of-range number or Timestamp, a lone surrogate or a wrong type.
 */
export function encodeSchedulerEntry(m: SchedulerEntry): Uint8Array {
  return encodeMessage(SCHEDULER_ENTRY, m);
}

/**
 * Decodes a SchedulerEntry.
 * @throws {@link ProtoDecodeError} on truncated or malformed bytes, a wrong wire type or invalid UTF-8.
 */
export function decodeSchedulerEntry(bytes: Uint8Array): SchedulerEntry {
  return decodeMessage(SCHEDULER_ENTRY, bytes);
}

/**
 * Encodes a SchedulerEnqueueEvent (a member of `asynq:scheduler_history:<id>`).
 * @throws {@link ProtoEncodeError} on an out-of-range number or Timestamp, a lone surrogate or a wrong type.
 */
export function encodeSchedulerEnqueueEvent(m: SchedulerEnqueueEvent): Uint8Array {
  return encodeMessage(SCHEDULER_ENQUEUE_EVENT, m);
}

/**
 * Decodes a SchedulerEnqueueEvent.
 * @throws {@link ProtoDecodeError} on truncated or malformed bytes, a wrong wire type or invalid UTF-8.
 */
export function decodeSchedulerEnqueueEvent(bytes: Uint8Array): SchedulerEnqueueEvent {
  return decodeMessage(SCHEDULER_ENQUEUE_EVENT, bytes);
}
