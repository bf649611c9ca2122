// The protobuf decoders of asynq's five messages (wire-format §2). A decoder walks its input with a cursor,
// switches on the one-byte tag, reads ASCII strings without a TextDecoder (and returns the previous
// string for a task type or queue name seen last time) and builds the message object at the end. A
// small input with bytes fields is first copied into the slab as a whole, so that each bytes field is
// a view of a private copy.
import { ProtoDecodeError } from "../errors.js";
import { errorMessage } from "../internal/errors.js";
import type {
  SchedulerEnqueueEvent,
  SchedulerEntry,
  ServerInfo,
  TaskMessage,
  Timestamp,
  WorkerInfo,
} from "./messages.js";
import {
  EV,
  LEN,
  POOLED_MAX,
  SE,
  SI,
  TM,
  VARINT,
  WI,
  emptyBytes,
  slab,
  slabBuffer,
  slabBytes,
  slabReserve,
  strings,
} from "./proto-common.js";

const TWO_32 = 4294967296;

// ---- Decoding: the reader -----------------------------------------------------------------------
// One decode at a time: the reader state lives in module variables. A decoder runs no user code once
// it has set them (the input is read through a view of our own, not through the caller's object).

/** The input (a view of our own) or its copy in the slab, the same memory as a Buffer, the cursor, the end. */
let B: Uint8Array = slabBytes;
let BB: Buffer | null = null;
let P = 0;
let E = 0;
/** Whether the input is a Buffer: bytes fields are then Buffers too, as `.slice()` of the input made them. */
let bufferInput = false;
/** The slab that B is when the decoder works on a copy of the input, else null. */
let inputSlab: ArrayBuffer | null = null;
/** The halves of the last varint64 read. */
let lo = 0;
let hi = 0;

/**
 * Starts reading `bytes`. With `copy` (messages with bytes fields), a small input is first copied
 * into the slab as a whole: each bytes field is then a view of that private copy, which is cheaper
 * than copying the fields one by one.
 */
function startInput(bytes: Uint8Array, copy: boolean): void {
  const isBuffer = bytes instanceof Buffer; // Buffer.isBuffer()
  const n = bytes.length;
  if (copy && n > 0 && n <= POOLED_MAX) {
    const offset = slabReserve(n);
    slabBytes.set(bytes, offset);
    B = slabBytes;
    BB = slabBuffer;
    inputSlab = slab;
    P = offset;
    E = offset + n;
  } else {
    B = new Uint8Array(bytes.buffer, bytes.byteOffset, n);
    BB = null;
    inputSlab = null;
    P = 0;
    E = n;
  }
  bufferInput = isBuffer;
}

/** A decode error that the message decoder prefixes with the field's description. */
class FieldError extends Error {
  constructor(
    readonly suffix: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The ProtoDecodeError for `e`, thrown while reading field `no` (0: no field yet) of a message. */
function decodeFailure(e: unknown, names: readonly string[], no: number): ProtoDecodeError {
  if (e instanceof ProtoDecodeError) return e;
  const where = names[no] ?? `${names[0]} unknown field ${no}`;
  if (e instanceof FieldError) {
    return new ProtoDecodeError(
      `${where}${e.suffix}: ${e.message}`,
      e.cause === undefined ? undefined : { cause: e.cause },
    );
  }
  return new ProtoDecodeError(`${where}: ${errorMessage(e)}`, { cause: e });
}

/** A known field `tag >>> 3` with the wrong wire type; wire[n] is the right one for field n. */
function wireTypeError(tag: number, wire: readonly number[]): FieldError {
  return new FieldError("", `wire type ${tag & 7}, expected ${wire[tag >>> 3]}`);
}

// The low-level read errors below (premature EOF, an overlong length, a group wire type) never leave
// this module: decodeFailure wraps each into the ProtoDecodeError that callers see, as its `cause`.
// They are RangeErrors because @bufbuild/protobuf's reader, the reference decoder that
// proto.property.test.ts compares us with (error class, message and cause class), throws RangeError
// for the same inputs.

function prematureEof(): never {
  throw new RangeError("premature EOF");
}

/** An unsigned 32-bit varint: the low 32 bits of a varint of up to 10 bytes. */
function readVarint32(): number {
  if (P >= E) prematureEof();
  let b = B[P++]!;
  if (b < 0x80) return b;
  let r = b & 0x7f;
  for (let shift = 7; shift < 28; shift += 7) {
    if (P >= E) prematureEof();
    b = B[P++]!;
    r |= (b & 0x7f) << shift;
    if (b < 0x80) return r;
  }
  if (P >= E) prematureEof();
  b = B[P++]!;
  r |= (b & 0x0f) << 28;
  for (let read = 5; b >= 0x80; read++) {
    if (read === 10) throw new Error("invalid varint");
    if (P >= E) prematureEof();
    b = B[P++]!;
  }
  return r >>> 0;
}

/** A 64-bit varint of up to 10 bytes, into `lo` and `hi` (32-bit halves). */
function readVarint64(): void {
  let l = 0;
  let b: number;
  for (let shift = 0; shift < 28; shift += 7) {
    if (P >= E) prematureEof();
    b = B[P++]!;
    l |= (b & 0x7f) << shift;
    if (b < 0x80) {
      lo = l;
      hi = 0;
      return;
    }
  }
  if (P >= E) prematureEof();
  b = B[P++]!;
  l |= (b & 0x0f) << 28;
  let h = (b & 0x70) >> 4;
  if (b < 0x80) {
    lo = l;
    hi = h;
    return;
  }
  for (let shift = 3; shift <= 31; shift += 7) {
    if (P >= E) prematureEof();
    b = B[P++]!;
    h |= (b & 0x7f) << shift;
    if (b < 0x80) {
      lo = l;
      hi = h;
      return;
    }
  }
  throw new Error("invalid varint");
}

function illegalTag(tag: number): Error {
  return new Error(`illegal tag: field no ${tag >>> 3} wire type ${tag & 7}`);
}

/** Reads a tag (P < E): field number >= 1 and wire type <= 5, in at most 5 bytes. */
function readTag(): number {
  const b = B[P]!;
  if (b < 0x80) {
    if (b < 8 || (b & 7) > 5) throw illegalTag(b);
    P++;
    return b;
  }
  const start = P;
  const tag = readVarint32();
  const n = P - start;
  if (n > 5 || (n === 5 && B[P - 1]! > 0x0f)) throw new Error("illegal tag: varint overflows uint32");
  if (tag >>> 3 === 0 || (tag & 7) > 5) throw illegalTag(tag);
  return tag;
}

/** The length of a length-delimited value, checked against the bytes left. */
function readLength(): number {
  let n: number;
  if (P < E && B[P]! < 0x80) n = B[P++]!;
  else {
    readVarint64();
    n = (hi >>> 0) * TWO_32 + (lo >>> 0);
  }
  const left = E - P;
  if (n > left) {
    const exact = Number.isSafeInteger(n) ? String(n) : String((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
    throw new RangeError(`length ${exact} exceeds the ${left} bytes left`);
  }
  return n;
}

function readInt32(): number {
  if (P < E) {
    const b = B[P]!;
    if (b < 0x80) {
      P++;
      return b;
    }
  }
  return readVarint32() | 0;
}

/** `lo`/`hi` as a signed int64. */
function int64Value(): bigint {
  if (hi === 0 && lo >= 0) return BigInt(lo);
  if (hi >= -0x200000 && hi < 0x200000) return BigInt(hi * TWO_32 + (lo >>> 0)); // within ±2^53
  return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
}

function readInt64(): bigint {
  if (P < E) {
    const b = B[P]!;
    if (b < 0x80) {
      P++;
      return BigInt(b);
    }
  }
  readVarint64();
  return int64Value();
}

function readBool(): boolean {
  if (P < E) {
    const b = B[P]!;
    if (b < 0x80) {
      P++;
      return b !== 0;
    }
  }
  readVarint64();
  return lo !== 0 || hi !== 0;
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** B as a Buffer, for its native string conversions. */
function inputBuffer(): Buffer {
  return (BB ??= Buffer.from(B.buffer, B.byteOffset, B.byteLength));
}

/** A string field value; `suffix` names the part of a sub-message it is in, for errors. */
function readString(suffix: string): string {
  const n = readLength();
  const start = P;
  P = start + n;
  return stringAt(start, P, suffix);
}

/** The string of the UTF-8 bytes B[start, end). */
function stringAt(start: number, end: number, suffix: string): string {
  const n = end - start;
  if (n > 40) {
    // Buffer's lenient UTF-8 decoding makes one character per byte exactly when the bytes are ASCII,
    // or when some of them are invalid and became U+FFFD. Other strings are decoded again, strictly.
    const s = strings.utf8Slice(inputBuffer(), start, end);
    return s.length === n && !s.includes("\uFFFD") ? s : decodeUtf8(start, end, suffix);
  }
  const b = B;
  let bits = 0;
  for (let i = start; i < end; i++) bits |= b[i]!;
  if (bits >= 0x80) return decodeUtf8(start, end, suffix);
  // ASCII. Short strings from character codes; a native call costs more than that below 13 bytes.
  return n > 12 ? strings.latin1Slice(inputBuffer(), start, end) : shortAscii(b, start, n);
}

/** The string of the `n` (<= 12) ASCII bytes at `b[i]`. */
function shortAscii(b: Uint8Array, i: number, n: number): string {
  const c = String.fromCharCode;
  switch (n) {
    case 0:
      return "";
    case 1:
      return c(b[i]!);
    case 2:
      return c(b[i]!, b[i + 1]!);
    case 3:
      return c(b[i]!, b[i + 1]!, b[i + 2]!);
    case 4:
      return c(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!);
    case 5:
      return c(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!);
    case 6:
      return c(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!);
    case 7:
      return c(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!);
    case 8:
      return c(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!, b[i + 7]!);
    default:
      return (
        c(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!, b[i + 7]!) +
        shortAscii(b, i + 8, n - 8)
      );
  }
}

/** The bytes of the last string one field had, and the string: task types and queue names repeat. */
interface StringCache {
  bytes: Uint8Array;
  n: number;
  s: string;
}
const STRING_CACHE_MAX = 64;
const newStringCache = (): StringCache => ({ bytes: new Uint8Array(STRING_CACHE_MAX), n: -1, s: "" });
const typeString = newStringCache();
const queueString = newStringCache();

/** readString(""), returning the cached string when the bytes are those of the last call. */
function readCachedString(cache: StringCache): string {
  const n = readLength();
  const start = P;
  P = start + n;
  const b = B;
  const cached = cache.bytes;
  if (n === cache.n) {
    let i = 0;
    while (i < n && b[start + i] === cached[i]) i++;
    if (i === n) return cache.s;
  }
  const s = stringAt(start, P, "");
  if (n <= STRING_CACHE_MAX) {
    for (let i = 0; i < n; i++) cached[i] = b[start + i]!;
    cache.n = n;
    cache.s = s;
  }
  return s;
}

/** Strict UTF-8 decoding (a byte order mark is kept), as Go's string fields require. */
function decodeUtf8(start: number, end: number, suffix: string): string {
  try {
    return utf8Decoder.decode(B.subarray(start, end));
  } catch (e) {
    throw new FieldError(suffix, "string field contains invalid UTF-8", { cause: e });
  }
}

/** A bytes field value: a copy (a Buffer when the input is a Buffer), never a view of the input. */
function readBytes(): Uint8Array {
  const n = readLength();
  const start = P;
  P += n;
  if (inputSlab !== null) {
    return bufferInput ? (BB as Buffer).subarray(start, P) : new Uint8Array(inputSlab, start, n);
  }
  if (n === 0) return bufferInput ? Buffer.alloc(0) : emptyBytes();
  if (bufferInput) return Buffer.from(B.subarray(start, P));
  if (n > POOLED_MAX) return B.slice(start, P);
  const offset = slabReserve(n);
  slabBytes.set(B.subarray(start, P), offset);
  return new Uint8Array(slab, offset, n);
}

/** Skips a value of wire type `wt` (of an unknown field). */
function skipValue(wt: number): void {
  if (wt === VARINT) readVarint64();
  else if (wt === LEN) {
    const n = readLength(); // before reading P: readLength moves it
    P += n;
  } else if (wt === 1 || wt === 5) {
    P += wt === 5 ? 4 : 8;
    if (P > E) prematureEof();
  } else throw new RangeError(`unsupported wire type ${wt} (groups are not used by asynq)`);
}

/** Start and end of each unknown field (tag and value), in input order: the first `unknownCount`. */
const unknownRanges: number[] = [];
let unknownCount = 0;

function skipUnknown(start: number, tag: number): void {
  skipValue(tag & 7);
  unknownRanges[unknownCount++] = start;
  unknownRanges[unknownCount++] = P;
}

/** The unknown fields' bytes, copied into one array. */
function unknownBytes(): Uint8Array {
  if (unknownCount === 0) return emptyBytes();
  let size = 0;
  for (let i = 0; i < unknownCount; i += 2) size += unknownRanges[i + 1]! - unknownRanges[i]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (let i = 0; i < unknownCount; i += 2) {
    out.set(B.subarray(unknownRanges[i], unknownRanges[i + 1]), at);
    at += unknownRanges[i + 1]! - unknownRanges[i]!;
  }
  unknownCount = 0;
  return out;
}

/** Enters a length-delimited sub-message: returns the current end, to be restored after it. */
function enterSubMessage(): number {
  const n = readLength();
  const outer = E;
  E = P + n;
  return outer;
}

/** Merges a Timestamp occurrence into `base`, as proto3 merges repeated occurrences of a message field. */
function readTimestamp(base: Timestamp | null): Timestamp {
  const outer = enterSubMessage();
  let seconds = base === null ? 0n : base.seconds;
  let nanos = base === null ? 0 : base.nanos;
  while (P < E) {
    const tag = readTag();
    if (tag === 0x08) seconds = readInt64();
    else if (tag === 0x10) nanos = readInt32();
    else if (tag >>> 3 === 1 || tag >>> 3 === 2) {
      throw new FieldError(tag >>> 3 === 1 ? " seconds" : " nanos", `wire type ${tag & 7}, expected 0`);
    } else skipValue(tag & 7);
  }
  E = outer;
  return { seconds, nanos };
}

/** Stores a decoded map entry; a later entry for a key wins. */
function setEntry(map: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty, so that the key "__proto__" is stored as data.
  if (key === "__proto__") {
    Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  } else map[key] = value;
}

/** Adds one map<string,string> entry (missing key or value = "") to `map`. */
function readStringMapEntry(map: Record<string, string>): void {
  const outer = enterSubMessage();
  let key = "";
  let value = "";
  while (P < E) {
    const tag = readTag();
    if (tag === 0x0a) key = readString(" key");
    else if (tag === 0x12) value = readString(" value");
    else if (tag >>> 3 === 1 || tag >>> 3 === 2) {
      throw new FieldError(tag >>> 3 === 1 ? " key" : " value", `wire type ${tag & 7}, expected 2`);
    } else skipValue(tag & 7);
  }
  E = outer;
  setEntry(map, key, value);
}

/** Adds one map<string,int32> entry (missing key = "", value = 0) to `map`. */
function readInt32MapEntry(map: Record<string, number>): void {
  const outer = enterSubMessage();
  let key = "";
  let value = 0;
  while (P < E) {
    const tag = readTag();
    if (tag === 0x0a) key = readString(" key");
    else if (tag === 0x10) value = readInt32();
    else if (tag >>> 3 === 1) throw new FieldError(" key", `wire type ${tag & 7}, expected 2`);
    else if (tag >>> 3 === 2) throw new FieldError(" value", `wire type ${tag & 7}, expected 0`);
    else skipValue(tag & 7);
  }
  E = outer;
  setEntry(map, key, value);
}

/** Checks that the input is a Uint8Array (not a Proxy of one, which would run user code mid-decode). */
function checkInput(bytes: unknown, names: readonly string[]): void {
  if (!(bytes instanceof Uint8Array) || !ArrayBuffer.isView(bytes)) {
    throw new ProtoDecodeError(`${names[0]}: input is not a Uint8Array`);
  }
  unknownCount = 0;
}

// ---- Decoders -----------------------------------------------------------------------------------
// Absent fields read as proto3 zero; an absent Timestamp as null (Go HEAD's AsTime() reads it as the
// epoch). `no` is the field being read, for errors (0 while reading a tag).

export function decodeTask(bytes: Uint8Array): TaskMessage {
  checkInput(bytes, TM.names);
  let type = "";
  let payload: Uint8Array | null = null;
  let id = "";
  let queue = "";
  let retry = 0;
  let retried = 0;
  let errorMsg = "";
  let timeout = 0n;
  let deadline = 0n;
  let uniqueKey = "";
  let lastFailedAt = 0n;
  let retention = 0n;
  let completedAt = 0n;
  let groupKey = "";
  const headers: Record<string, string> = {};
  let no = 0;
  try {
    startInput(bytes, true);
    while (P < E) {
      no = 0;
      const start = P;
      const tag = readTag();
      no = tag >>> 3;
      switch (tag) {
        case 0x0a:
          type = readCachedString(typeString);
          break;
        case 0x12:
          payload = readBytes();
          break;
        case 0x1a:
          id = readString("");
          break;
        case 0x22:
          queue = readCachedString(queueString);
          break;
        case 0x28:
          retry = readInt32();
          break;
        case 0x30:
          retried = readInt32();
          break;
        case 0x3a:
          errorMsg = readString("");
          break;
        case 0x40:
          timeout = readInt64();
          break;
        case 0x48:
          deadline = readInt64();
          break;
        case 0x52:
          uniqueKey = readString("");
          break;
        case 0x58:
          lastFailedAt = readInt64();
          break;
        case 0x60:
          retention = readInt64();
          break;
        case 0x68:
          completedAt = readInt64();
          break;
        case 0x72:
          groupKey = readString("");
          break;
        case 0x7a:
          readStringMapEntry(headers);
          break;
        default:
          if (no < TM.wire.length) throw wireTypeError(tag, TM.wire);
          skipUnknown(start, tag);
      }
    }
  } catch (e) {
    throw decodeFailure(e, TM.names, no);
  }
  return {
    type,
    payload: payload ?? emptyBytes(),
    id,
    queue,
    retry,
    retried,
    errorMsg,
    timeout,
    deadline,
    uniqueKey,
    lastFailedAt,
    retention,
    completedAt,
    groupKey,
    headers,
    unknownFields: unknownBytes(),
  };
}

export function decodeServer(bytes: Uint8Array): ServerInfo {
  checkInput(bytes, SI.names);
  let host = "";
  let pid = 0;
  let serverId = "";
  let concurrency = 0;
  const queues: Record<string, number> = {};
  let strictPriority = false;
  let status = "";
  let startTime: Timestamp | null = null;
  let activeWorkerCount = 0;
  let no = 0;
  try {
    startInput(bytes, false);
    while (P < E) {
      no = 0;
      const start = P;
      const tag = readTag();
      no = tag >>> 3;
      switch (tag) {
        case 0x0a:
          host = readString("");
          break;
        case 0x10:
          pid = readInt32();
          break;
        case 0x1a:
          serverId = readString("");
          break;
        case 0x20:
          concurrency = readInt32();
          break;
        case 0x2a:
          readInt32MapEntry(queues);
          break;
        case 0x30:
          strictPriority = readBool();
          break;
        case 0x3a:
          status = readString("");
          break;
        case 0x42:
          startTime = readTimestamp(startTime);
          break;
        case 0x48:
          activeWorkerCount = readInt32();
          break;
        default:
          if (no < SI.wire.length) throw wireTypeError(tag, SI.wire);
          skipUnknown(start, tag);
      }
    }
  } catch (e) {
    throw decodeFailure(e, SI.names, no);
  }
  return {
    host,
    pid,
    serverId,
    concurrency,
    queues,
    strictPriority,
    status,
    startTime,
    activeWorkerCount,
    unknownFields: unknownBytes(),
  };
}

export function decodeWorker(bytes: Uint8Array): WorkerInfo {
  checkInput(bytes, WI.names);
  let host = "";
  let pid = 0;
  let serverId = "";
  let taskId = "";
  let taskType = "";
  let taskPayload: Uint8Array | null = null;
  let queue = "";
  let startTime: Timestamp | null = null;
  let deadline: Timestamp | null = null;
  let no = 0;
  try {
    startInput(bytes, true);
    while (P < E) {
      no = 0;
      const start = P;
      const tag = readTag();
      no = tag >>> 3;
      switch (tag) {
        case 0x0a:
          host = readString("");
          break;
        case 0x10:
          pid = readInt32();
          break;
        case 0x1a:
          serverId = readString("");
          break;
        case 0x22:
          taskId = readString("");
          break;
        case 0x2a:
          taskType = readString("");
          break;
        case 0x32:
          taskPayload = readBytes();
          break;
        case 0x3a:
          queue = readString("");
          break;
        case 0x42:
          startTime = readTimestamp(startTime);
          break;
        case 0x4a:
          deadline = readTimestamp(deadline);
          break;
        default:
          if (no < WI.wire.length) throw wireTypeError(tag, WI.wire);
          skipUnknown(start, tag);
      }
    }
  } catch (e) {
    throw decodeFailure(e, WI.names, no);
  }
  return {
    host,
    pid,
    serverId,
    taskId,
    taskType,
    taskPayload: taskPayload ?? emptyBytes(),
    queue,
    startTime,
    deadline,
    unknownFields: unknownBytes(),
  };
}

export function decodeEntry(bytes: Uint8Array): SchedulerEntry {
  checkInput(bytes, SE.names);
  let id = "";
  let spec = "";
  let taskType = "";
  let taskPayload: Uint8Array | null = null;
  const enqueueOptions: string[] = [];
  let nextEnqueueTime: Timestamp | null = null;
  let prevEnqueueTime: Timestamp | null = null;
  let no = 0;
  try {
    startInput(bytes, true);
    while (P < E) {
      no = 0;
      const start = P;
      const tag = readTag();
      no = tag >>> 3;
      switch (tag) {
        case 0x0a:
          id = readString("");
          break;
        case 0x12:
          spec = readString("");
          break;
        case 0x1a:
          taskType = readString("");
          break;
        case 0x22:
          taskPayload = readBytes();
          break;
        case 0x2a:
          enqueueOptions.push(readString(""));
          break;
        case 0x32:
          nextEnqueueTime = readTimestamp(nextEnqueueTime);
          break;
        case 0x3a:
          prevEnqueueTime = readTimestamp(prevEnqueueTime);
          break;
        default:
          if (no < SE.wire.length) throw wireTypeError(tag, SE.wire);
          skipUnknown(start, tag);
      }
    }
  } catch (e) {
    throw decodeFailure(e, SE.names, no);
  }
  return {
    id,
    spec,
    taskType,
    taskPayload: taskPayload ?? emptyBytes(),
    enqueueOptions,
    nextEnqueueTime,
    prevEnqueueTime,
    unknownFields: unknownBytes(),
  };
}

export function decodeEvent(bytes: Uint8Array): SchedulerEnqueueEvent {
  checkInput(bytes, EV.names);
  let taskId = "";
  let enqueueTime: Timestamp | null = null;
  let no = 0;
  try {
    startInput(bytes, false);
    while (P < E) {
      no = 0;
      const start = P;
      const tag = readTag();
      no = tag >>> 3;
      switch (tag) {
        case 0x0a:
          taskId = readString("");
          break;
        case 0x12:
          enqueueTime = readTimestamp(enqueueTime);
          break;
        default:
          if (no < EV.wire.length) throw wireTypeError(tag, EV.wire);
          skipUnknown(start, tag);
      }
    }
  } catch (e) {
    throw decodeFailure(e, EV.names, no);
  }
  return { taskId, enqueueTime, unknownFields: unknownBytes() };
}
