// The protobuf encoders of asynq's five messages (wire-format §2). Each encoder reads every field once,
// checks it and adds up the exact size, then writes the message in one pass (varints by hand, strings
// with Buffer's methods) into a view of the shared slab: one encode allocates one small view object.
// int64 fields are written from numbers; a bigint is only taken apart beyond ±2^53.
import { ProtoEncodeError } from "../errors.js";
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
  EV,
  POOLED_MAX,
  SE,
  SI,
  TM,
  WI,
  emptyBytes,
  slab,
  slabBuffer,
  slabBytes,
  slabReserve,
  strings,
} from "./proto-common.js";

// ---- Encoding: checks and sizes -----------------------------------------------------------------

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO_32 = 4294967296;
/** The range Go's v0.24.1 readers (ptypes.Timestamp) accept: 0001-01-01 to 9999-12-31 (wire-format §2.6.8). */
const MIN_SECONDS = GO_ZERO_TIME_SECONDS;
const MAX_SECONDS = 253402300800n;

/** UTF-8 length of `v`, or -1 when `v` is not a string or holds a lone surrogate (not encodable). */
function utf8Length(v: unknown): number {
  if (typeof v !== "string") return -1;
  const n = v.length;
  if (n === 0) return 0;
  const bytes = Buffer.byteLength(v); // UTF-8 (naming the encoding is slower)
  // Equal lengths mean ASCII; otherwise a lone surrogate would have been counted as U+FFFD.
  return bytes === n || v.isWellFormed() ? bytes : -1;
}

/** The last string one field had, and its UTF-8 length: task types and queue names repeat. */
interface LengthCache {
  s: string;
  n: number;
}
const typeLength: LengthCache = { s: "", n: 0 };
const queueLength: LengthCache = { s: "", n: 0 };

/** utf8Length(v), remembered for the next call with the same string. */
function cachedUtf8Length(cache: LengthCache, v: unknown): number {
  if (v === cache.s) return cache.n;
  const n = utf8Length(v);
  if (n >= 0) {
    cache.s = v as string;
    cache.n = n;
  }
  return n;
}

/** The UTF-8 size of a string field. @throws ProtoEncodeError for a non-string or a lone surrogate. */
function stringSize(v: unknown, where: string): number {
  const n = utf8Length(v);
  if (n < 0) throw badString(v, where);
  return n;
}

function badString(v: unknown, where: string): ProtoEncodeError {
  return typeof v !== "string"
    ? new ProtoEncodeError(`${where}: expected a string, got ${typeof v}`)
    : new ProtoEncodeError(`${where}: lone surrogate, not encodable as UTF-8`);
}

/** True for an integer number in [-2^31, 2^31). */
function isInt32(v: unknown): v is number {
  return typeof v === "number" && (v | 0) === v;
}

function badInt32(v: unknown, where: string): ProtoEncodeError {
  return new ProtoEncodeError(`${where}: ${String(v)} is not an int32`);
}

/**
 * `v` as a number when it is a bigint within ±(2^53 - 1); NaN when it is a bigint int64 beyond that
 * (written from the bigint); Infinity when it is not an int64 bigint at all.
 */
function int64Number(v: unknown): number {
  if (typeof v !== "bigint") return Infinity;
  if (v === 0n) return 0;
  const n = Number(v); // rounding is monotonic, so |n| <= 2^53 - 1 exactly when |v| is
  if (n <= Number.MAX_SAFE_INTEGER && n >= -Number.MAX_SAFE_INTEGER) return n;
  return v >= INT64_MIN && v <= INT64_MAX ? NaN : Infinity;
}

function badInt64(v: unknown, where: string): ProtoEncodeError {
  return new ProtoEncodeError(`${where}: ${String(v)} is not an int64 bigint`);
}

/** Size of an unsigned varint of `n` (0 <= n < 2^32). */
function varint32Size(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** Size of the int32 field value `v`: negative values are sign-extended to 10 bytes. */
function int32Size(v: number): number {
  return v < 0 ? 10 : varint32Size(v);
}

/** Size of the int64 varint of `n` (from int64Number; NaN: of the bigint `v`). */
function int64Size(n: number, v: bigint): number {
  if (n >= 0) {
    if (n < TWO_32) return varint32Size(n);
    return n < 2 ** 35 ? 5 : n < 2 ** 42 ? 6 : n < 2 ** 49 ? 7 : 8;
  }
  if (n < 0) return 10;
  // Beyond ±2^53 (NaN): negative values take 10 bytes, positive ones 8 or 9.
  return v < 0n ? 10 : v < 2n ** 56n ? 8 : 9;
}

/** Size of a length-delimited field with a one-byte tag and an `n`-byte value, 0 when n is 0. */
function lenFieldSize(n: number): number {
  return n === 0 ? 0 : 1 + varint32Size(n) + n;
}

function checkObject(v: unknown, where: string): object {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ProtoEncodeError(`${where}: expected an object`);
  }
  return v;
}

/** A checked Timestamp: `seconds` as a number, and the size of the sub-message body (< 128). */
interface TimestampPlan {
  seconds: number;
  nanos: number;
  body: number;
}

/** Checks a Timestamp field value; null for an absent one (not written). */
function planTimestamp(v: unknown, where: string): TimestampPlan | null {
  if (v === null) return null; // absent on the wire; our writers never leave one out (see messages.ts)
  const { seconds, nanos } = checkObject(v, where) as Partial<Timestamp>;
  if (typeof seconds !== "bigint" || seconds < MIN_SECONDS || seconds >= MAX_SECONDS) {
    throw new ProtoEncodeError(`${where}: seconds ${String(seconds)} outside the years 0001-9999`);
  }
  if (typeof nanos !== "number" || !Number.isInteger(nanos) || nanos < 0 || nanos >= 1e9) {
    throw new ProtoEncodeError(`${where}: nanos ${String(nanos)} outside [0, 1e9)`);
  }
  const s = Number(seconds); // exact: the range above is within ±2^53
  const body = (s === 0 ? 0 : 1 + int64Size(s, seconds)) + (nanos === 0 ? 0 : 1 + varint32Size(nanos));
  return { seconds: s, nanos, body };
}

/** Size of a Timestamp field (written even when empty, wire-format §2.7), 0 when absent. */
function timestampSize(t: TimestampPlan | null): number {
  return t === null ? 0 : 2 + t.body;
}

/** A checked map field: keys sorted by their UTF-8 bytes, values, and the entries' encoded sizes. */
interface MapPlan {
  keys: string[];
  values: unknown[];
  /** Per entry: UTF-8 length of the key, UTF-8 length (string) or varint size (int32) of the value, body length. */
  lengths: number[];
  size: number;
}

const EMPTY_MAP: MapPlan = { keys: [], values: [], lengths: [], size: 0 };

/**
 * Compares two well-formed strings by their UTF-8 bytes, which is code point order. UTF-16 code unit
 * order differs from it only where a surrogate (D800-DFFF) meets a unit in E000-FFFF.
 */
function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x < 0xe000 ? x + 0x2000 : x - 0x800;
        y = y < 0xe000 ? y + 0x2000 : y - 0x800;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Whether `map` has no own enumerable string-keyed property (Object.keys(map).length === 0). */
function isEmpty(map: object): boolean {
  for (const key in map) if (Object.hasOwn(map, key)) return false;
  return true;
}

/**
 * Checks a map field value: every key first, then the values in key order. Entries are sorted by the
 * UTF-8 bytes of their keys, as Go's deterministic marshal does.
 */
function planMap(v: unknown, valueKind: "string" | "int32", where: string): MapPlan {
  const map = checkObject(v, where) as Record<string, unknown>;
  if (isEmpty(map)) return EMPTY_MAP; // the usual case, without allocating a key array
  const keys = Object.keys(map);
  const n = keys.length;
  if (n === 0) return EMPTY_MAP;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    const length = utf8Length(key);
    if (length < 0) throw badString(key, `${where} key ${JSON.stringify(key)}`);
    if (length !== key.length) ascii = false;
  }
  // Without non-ASCII keys, UTF-16 order (the default sort) is UTF-8 byte order.
  if (n > 1) {
    if (ascii) keys.sort();
    else keys.sort(compareUtf8);
  }
  const values: unknown[] = [];
  const lengths: number[] = [];
  let size = 0;
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    const value = map[key];
    const keyLength = utf8Length(key);
    let valueLength: number;
    if (valueKind === "string") {
      valueLength = utf8Length(value);
      if (valueLength < 0) throw badString(value, `${where} key ${JSON.stringify(key)}`);
    } else {
      if (!isInt32(value)) throw badInt32(value, `${where} key ${JSON.stringify(key)}`);
      valueLength = int32Size(value);
    }
    // Go writes both key and value, even when empty or 0 (wire-format §2.6.5).
    const body =
      2 +
      varint32Size(keyLength) +
      keyLength +
      (valueKind === "string" ? varint32Size(valueLength) : 0) +
      valueLength;
    values.push(value);
    lengths.push(keyLength, valueLength, body);
    size += 1 + varint32Size(body) + body;
  }
  return { keys, values, lengths, size };
}

/**
 * Whether `v` is a Uint8Array that TypedArray#set copies without calling back into user code (not a
 * Proxy of one): the writing pass must not run any, as a nested encode would take over the writer.
 */
function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array && ArrayBuffer.isView(v);
}

function checkBytes(v: unknown, where: string): Uint8Array {
  if (!isBytes(v)) throw new ProtoEncodeError(`${where}: expected a Uint8Array`);
  return v;
}

function checkUnknown(v: unknown, message: string): Uint8Array {
  if (!isBytes(v)) throw new ProtoEncodeError(`${message}: unknownFields must be a Uint8Array`);
  return v;
}

// ---- Encoding: the writer -----------------------------------------------------------------------
// Writers take the output array and a position and return the position after what they wrote; the
// encoders keep both in locals.

/** The output array of the current encode, and the same memory as a Buffer (for string writes). */
let W: Uint8Array = slabBytes;
let WB: Buffer = slabBuffer;

/** Points W at `size` fresh bytes and returns the offset of the first. */
function startOutput(size: number): number {
  if (size <= POOLED_MAX) {
    const offset = slabReserve(size);
    W = slabBytes;
    WB = slabBuffer;
    return offset;
  }
  const own = new ArrayBuffer(size);
  W = new Uint8Array(own);
  WB = Buffer.from(own);
  return 0;
}

/** The output, after checking that the encoder wrote exactly the size it computed. */
function finishOutput(start: number, end: number, size: number): Uint8Array {
  if (end - start !== size) throw new Error(`protobuf encoder wrote ${end - start} bytes, expected ${size}`);
  return size <= POOLED_MAX ? new Uint8Array(slab, start, size) : W;
}

/** Writes an unsigned varint, 0 <= n < 2^32. */
function writeVarint32(w: Uint8Array, p: number, n: number): number {
  while (n > 0x7f) {
    w[p++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  w[p++] = n;
  return p;
}

/** Writes an int32 value: negative values are sign-extended to 64 bits (10 bytes). */
function writeInt32(w: Uint8Array, p: number, v: number): number {
  if (v >= 0) return writeVarint32(w, p, v);
  for (let i = 0; i < 9; i++) {
    w[p++] = (v & 0x7f) | 0x80;
    v >>= 7;
  }
  w[p++] = 1;
  return p;
}

/** Writes a 64-bit varint given as two 32-bit halves. */
function writeVarint64(w: Uint8Array, p: number, lo: number, hi: number): number {
  for (let i = 0; i < 28; i += 7) {
    const shift = lo >>> i;
    const more = shift >>> 7 !== 0 || hi !== 0;
    w[p++] = (more ? shift | 0x80 : shift) & 0xff;
    if (!more) return p;
  }
  const split = ((lo >>> 28) & 0x0f) | ((hi & 0x07) << 4);
  const moreBits = hi >>> 3 !== 0;
  w[p++] = (moreBits ? split | 0x80 : split) & 0xff;
  if (!moreBits) return p;
  for (let i = 3; i < 31; i += 7) {
    const shift = hi >>> i;
    const more = shift >>> 7 !== 0;
    w[p++] = (more ? shift | 0x80 : shift) & 0xff;
    if (!more) return p;
  }
  w[p++] = (hi >>> 31) & 0x01;
  return p;
}

/** Writes an int64 value `n` from int64Number (NaN: the bigint `v`). */
function writeInt64(w: Uint8Array, p: number, n: number, v: bigint): number {
  if (n >= 0 && n < TWO_32) return writeVarint32(w, p, n);
  if (n === n) return writeVarint64(w, p, n >>> 0, Math.floor(n / TWO_32) >>> 0); // two's complement halves
  return writeVarint64(w, p, Number(BigInt.asUintN(32, v)), Number(BigInt.asUintN(32, v >> 32n)));
}

/** Writes the `n` UTF-8 bytes of a well-formed string `s`. */
function writeString(w: Uint8Array, p: number, s: string, n: number): number {
  if (n !== s.length) strings.utf8Write(WB, s, p, n);
  else if (n > 16)
    strings.latin1Write(WB, s, p, n); // ASCII
  else for (let i = 0; i < n; i++) w[p + i] = s.charCodeAt(i);
  return p + n;
}

/** Writes a length-delimited string field with a one-byte tag, unless the string is empty. */
function writeStringField(w: Uint8Array, p: number, tag: number, s: string, n: number): number {
  if (n === 0) return p;
  w[p] = tag;
  return writeString(w, writeVarint32(w, p + 1, n), s, n);
}

/** Writes a bytes field with a one-byte tag, unless empty; `n` is v.length, read in the checking pass. */
function writeBytesField(w: Uint8Array, p: number, tag: number, v: Uint8Array, n: number): number {
  if (n === 0) return p;
  w[p] = tag;
  p = writeVarint32(w, p + 1, n);
  w.set(v, p);
  return p + n;
}

function writeInt32Field(w: Uint8Array, p: number, tag: number, v: number): number {
  if (v === 0) return p;
  w[p] = tag;
  return writeInt32(w, p + 1, v);
}

function writeInt64Field(w: Uint8Array, p: number, tag: number, n: number, v: bigint): number {
  if (n === 0) return p;
  w[p] = tag;
  return writeInt64(w, p + 1, n, v);
}

function writeTimestampField(w: Uint8Array, p: number, tag: number, t: TimestampPlan | null): number {
  if (t === null) return p;
  w[p++] = tag;
  w[p++] = t.body; // < 128: one byte
  if (t.seconds !== 0) {
    w[p++] = 0x08;
    p = writeInt64(w, p, t.seconds, 0n);
  }
  if (t.nanos !== 0) {
    w[p++] = 0x10;
    p = writeVarint32(w, p, t.nanos);
  }
  return p;
}

function writeMapField(
  w: Uint8Array,
  p: number,
  tag: number,
  plan: MapPlan,
  valueKind: "string" | "int32",
): number {
  const { keys, values, lengths } = plan;
  for (let i = 0; i < keys.length; i++) {
    const keyLength = lengths[3 * i]!;
    const valueLength = lengths[3 * i + 1]!;
    w[p++] = tag;
    p = writeVarint32(w, p, lengths[3 * i + 2]!);
    w[p++] = 0x0a;
    p = writeString(w, writeVarint32(w, p, keyLength), keys[i]!, keyLength);
    if (valueKind === "string") {
      w[p++] = 0x12;
      p = writeString(w, writeVarint32(w, p, valueLength), values[i] as string, valueLength);
    } else {
      w[p++] = 0x10;
      p = writeInt32(w, p, values[i] as number);
    }
  }
  return p;
}

/** Writes the `n` (v.length, read in the checking pass) bytes of `v`. */
function writeRaw(w: Uint8Array, p: number, v: Uint8Array, n: number): number {
  if (n === 0) return p;
  w.set(v, p);
  return p + n;
}

// ---- Encoders -----------------------------------------------------------------------------------
// Each encoder reads every field once, checks it and adds up the size (in field-number order, so the
// first bad field is the one reported), then writes from what it read.

export function encodeTask(m: TaskMessage): Uint8Array {
  const type = m.type;
  const typeN = cachedUtf8Length(typeLength, type);
  if (typeN < 0) throw badString(type, TM.names[1]!);
  const payload = checkBytes(m.payload, TM.names[2]!);
  const payloadN = payload.length;
  const id = m.id;
  const idN = stringSize(id, TM.names[3]!);
  const queue = m.queue;
  const queueN = cachedUtf8Length(queueLength, queue);
  if (queueN < 0) throw badString(queue, TM.names[4]!);
  const retry = m.retry;
  if (!isInt32(retry)) throw badInt32(retry, TM.names[5]!);
  const retried = m.retried;
  if (!isInt32(retried)) throw badInt32(retried, TM.names[6]!);
  const errorMsg = m.errorMsg;
  const errorMsgN = stringSize(errorMsg, TM.names[7]!);
  const timeout = m.timeout;
  const timeoutN = int64Number(timeout);
  if (timeoutN === Infinity) throw badInt64(timeout, TM.names[8]!);
  const deadline = m.deadline;
  const deadlineN = int64Number(deadline);
  if (deadlineN === Infinity) throw badInt64(deadline, TM.names[9]!);
  const uniqueKey = m.uniqueKey;
  const uniqueKeyN = stringSize(uniqueKey, TM.names[10]!);
  const lastFailedAt = m.lastFailedAt;
  const lastFailedAtN = int64Number(lastFailedAt);
  if (lastFailedAtN === Infinity) throw badInt64(lastFailedAt, TM.names[11]!);
  const retention = m.retention;
  const retentionN = int64Number(retention);
  if (retentionN === Infinity) throw badInt64(retention, TM.names[12]!);
  const completedAt = m.completedAt;
  const completedAtN = int64Number(completedAt);
  if (completedAtN === Infinity) throw badInt64(completedAt, TM.names[13]!);
  const groupKey = m.groupKey;
  const groupKeyN = stringSize(groupKey, TM.names[14]!);
  const headers = planMap(m.headers, "string", TM.names[15]!);
  const unknown = checkUnknown(m.unknownFields, TM.names[0]!);
  const unknownN = unknown.length;

  const size =
    lenFieldSize(typeN) +
    lenFieldSize(payloadN) +
    lenFieldSize(idN) +
    lenFieldSize(queueN) +
    (retry === 0 ? 0 : 1 + int32Size(retry)) +
    (retried === 0 ? 0 : 1 + int32Size(retried)) +
    lenFieldSize(errorMsgN) +
    (timeoutN === 0 ? 0 : 1 + int64Size(timeoutN, timeout)) +
    (deadlineN === 0 ? 0 : 1 + int64Size(deadlineN, deadline)) +
    lenFieldSize(uniqueKeyN) +
    (lastFailedAtN === 0 ? 0 : 1 + int64Size(lastFailedAtN, lastFailedAt)) +
    (retentionN === 0 ? 0 : 1 + int64Size(retentionN, retention)) +
    (completedAtN === 0 ? 0 : 1 + int64Size(completedAtN, completedAt)) +
    lenFieldSize(groupKeyN) +
    headers.size +
    unknownN;
  if (size === 0) return emptyBytes();

  const start = startOutput(size);
  const w = W;
  let p = start;
  p = writeStringField(w, p, 0x0a, type, typeN);
  p = writeBytesField(w, p, 0x12, payload, payloadN);
  p = writeStringField(w, p, 0x1a, id, idN);
  p = writeStringField(w, p, 0x22, queue, queueN);
  p = writeInt32Field(w, p, 0x28, retry);
  p = writeInt32Field(w, p, 0x30, retried);
  p = writeStringField(w, p, 0x3a, errorMsg, errorMsgN);
  p = writeInt64Field(w, p, 0x40, timeoutN, timeout);
  p = writeInt64Field(w, p, 0x48, deadlineN, deadline);
  p = writeStringField(w, p, 0x52, uniqueKey, uniqueKeyN);
  p = writeInt64Field(w, p, 0x58, lastFailedAtN, lastFailedAt);
  p = writeInt64Field(w, p, 0x60, retentionN, retention);
  p = writeInt64Field(w, p, 0x68, completedAtN, completedAt);
  p = writeStringField(w, p, 0x72, groupKey, groupKeyN);
  p = writeMapField(w, p, 0x7a, headers, "string");
  p = writeRaw(w, p, unknown, unknownN);
  return finishOutput(start, p, size);
}

export function encodeServer(m: ServerInfo): Uint8Array {
  const host = m.host;
  const hostN = stringSize(host, SI.names[1]!);
  const pid = m.pid;
  if (!isInt32(pid)) throw badInt32(pid, SI.names[2]!);
  const serverId = m.serverId;
  const serverIdN = stringSize(serverId, SI.names[3]!);
  const concurrency = m.concurrency;
  if (!isInt32(concurrency)) throw badInt32(concurrency, SI.names[4]!);
  const queues = planMap(m.queues, "int32", SI.names[5]!);
  const strictPriority = m.strictPriority;
  if (typeof strictPriority !== "boolean") throw new ProtoEncodeError(`${SI.names[6]}: expected a boolean`);
  const status = m.status;
  const statusN = stringSize(status, SI.names[7]!);
  const startTime = planTimestamp(m.startTime, SI.names[8]!);
  const active = m.activeWorkerCount;
  if (!isInt32(active)) throw badInt32(active, SI.names[9]!);
  const unknown = checkUnknown(m.unknownFields, SI.names[0]!);
  const unknownN = unknown.length;

  const size =
    lenFieldSize(hostN) +
    (pid === 0 ? 0 : 1 + int32Size(pid)) +
    lenFieldSize(serverIdN) +
    (concurrency === 0 ? 0 : 1 + int32Size(concurrency)) +
    queues.size +
    (strictPriority ? 2 : 0) +
    lenFieldSize(statusN) +
    timestampSize(startTime) +
    (active === 0 ? 0 : 1 + int32Size(active)) +
    unknownN;
  if (size === 0) return emptyBytes();

  const start = startOutput(size);
  const w = W;
  let p = start;
  p = writeStringField(w, p, 0x0a, host, hostN);
  p = writeInt32Field(w, p, 0x10, pid);
  p = writeStringField(w, p, 0x1a, serverId, serverIdN);
  p = writeInt32Field(w, p, 0x20, concurrency);
  p = writeMapField(w, p, 0x2a, queues, "int32");
  if (strictPriority) {
    w[p++] = 0x30;
    w[p++] = 1;
  }
  p = writeStringField(w, p, 0x3a, status, statusN);
  p = writeTimestampField(w, p, 0x42, startTime);
  p = writeInt32Field(w, p, 0x48, active);
  p = writeRaw(w, p, unknown, unknownN);
  return finishOutput(start, p, size);
}

export function encodeWorker(m: WorkerInfo): Uint8Array {
  const host = m.host;
  const hostN = stringSize(host, WI.names[1]!);
  const pid = m.pid;
  if (!isInt32(pid)) throw badInt32(pid, WI.names[2]!);
  const serverId = m.serverId;
  const serverIdN = stringSize(serverId, WI.names[3]!);
  const taskId = m.taskId;
  const taskIdN = stringSize(taskId, WI.names[4]!);
  const taskType = m.taskType;
  const taskTypeN = stringSize(taskType, WI.names[5]!);
  const taskPayload = checkBytes(m.taskPayload, WI.names[6]!);
  const taskPayloadN = taskPayload.length;
  const queue = m.queue;
  const queueN = stringSize(queue, WI.names[7]!);
  const startTime = planTimestamp(m.startTime, WI.names[8]!);
  const deadline = planTimestamp(m.deadline, WI.names[9]!);
  const unknown = checkUnknown(m.unknownFields, WI.names[0]!);
  const unknownN = unknown.length;

  const size =
    lenFieldSize(hostN) +
    (pid === 0 ? 0 : 1 + int32Size(pid)) +
    lenFieldSize(serverIdN) +
    lenFieldSize(taskIdN) +
    lenFieldSize(taskTypeN) +
    lenFieldSize(taskPayloadN) +
    lenFieldSize(queueN) +
    timestampSize(startTime) +
    timestampSize(deadline) +
    unknownN;
  if (size === 0) return emptyBytes();

  const start = startOutput(size);
  const w = W;
  let p = start;
  p = writeStringField(w, p, 0x0a, host, hostN);
  p = writeInt32Field(w, p, 0x10, pid);
  p = writeStringField(w, p, 0x1a, serverId, serverIdN);
  p = writeStringField(w, p, 0x22, taskId, taskIdN);
  p = writeStringField(w, p, 0x2a, taskType, taskTypeN);
  p = writeBytesField(w, p, 0x32, taskPayload, taskPayloadN);
  p = writeStringField(w, p, 0x3a, queue, queueN);
  p = writeTimestampField(w, p, 0x42, startTime);
  p = writeTimestampField(w, p, 0x4a, deadline);
  p = writeRaw(w, p, unknown, unknownN);
  return finishOutput(start, p, size);
}

export function encodeEntry(m: SchedulerEntry): Uint8Array {
  const id = m.id;
  const idN = stringSize(id, SE.names[1]!);
  const spec = m.spec;
  const specN = stringSize(spec, SE.names[2]!);
  const taskType = m.taskType;
  const taskTypeN = stringSize(taskType, SE.names[3]!);
  const taskPayload = checkBytes(m.taskPayload, SE.names[4]!);
  const taskPayloadN = taskPayload.length;
  const options: unknown = m.enqueueOptions;
  if (!Array.isArray(options)) throw new ProtoEncodeError(`${SE.names[5]}: expected an array`);
  const optionList = options as unknown[];
  const optionLengths: number[] = [];
  let optionsSize = 0;
  for (let i = 0; i < optionList.length; i++) {
    const option = optionList[i];
    const n = utf8Length(option);
    if (n < 0) throw badString(option, `${SE.names[5]}[${i}]`);
    optionLengths.push(n);
    optionsSize += 1 + varint32Size(n) + n; // written even when empty
  }
  const next = planTimestamp(m.nextEnqueueTime, SE.names[6]!);
  const prev = planTimestamp(m.prevEnqueueTime, SE.names[7]!);
  const unknown = checkUnknown(m.unknownFields, SE.names[0]!);
  const unknownN = unknown.length;

  const size =
    lenFieldSize(idN) +
    lenFieldSize(specN) +
    lenFieldSize(taskTypeN) +
    lenFieldSize(taskPayloadN) +
    optionsSize +
    timestampSize(next) +
    timestampSize(prev) +
    unknownN;
  if (size === 0) return emptyBytes();

  const start = startOutput(size);
  const w = W;
  let p = start;
  p = writeStringField(w, p, 0x0a, id, idN);
  p = writeStringField(w, p, 0x12, spec, specN);
  p = writeStringField(w, p, 0x1a, taskType, taskTypeN);
  p = writeBytesField(w, p, 0x22, taskPayload, taskPayloadN);
  for (let i = 0; i < optionLengths.length; i++) {
    const n = optionLengths[i]!;
    w[p++] = 0x2a;
    p = writeString(w, writeVarint32(w, p, n), optionList[i] as string, n);
  }
  p = writeTimestampField(w, p, 0x32, next);
  p = writeTimestampField(w, p, 0x3a, prev);
  p = writeRaw(w, p, unknown, unknownN);
  return finishOutput(start, p, size);
}

export function encodeEvent(m: SchedulerEnqueueEvent): Uint8Array {
  const taskId = m.taskId;
  const taskIdN = stringSize(taskId, EV.names[1]!);
  const enqueueTime = planTimestamp(m.enqueueTime, EV.names[2]!);
  const unknown = checkUnknown(m.unknownFields, EV.names[0]!);
  const unknownN = unknown.length;

  const size = lenFieldSize(taskIdN) + timestampSize(enqueueTime) + unknownN;
  if (size === 0) return emptyBytes();

  const start = startOutput(size);
  const w = W;
  let p = start;
  p = writeStringField(w, p, 0x0a, taskId, taskIdN);
  p = writeTimestampField(w, p, 0x12, enqueueTime);
  p = writeRaw(w, p, unknown, unknownN);
  return finishOutput(start, p, size);
}
