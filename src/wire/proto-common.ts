// Parts shared by the protobuf encoders (proto-encode.ts) and decoders (proto-decode.ts):
// field descriptions, the slab that results are views of, string conversions and empty arrays.
import { markAsUntransferable } from "node:worker_threads";

// ---- Field names (for error messages) -----------------------------------------------------------

/** Descriptions of a message's fields for errors, and the wire type each field must have. */
export interface Fields {
  /** names[0] is the message name, names[n] describes field n: "asynq.X field n (snake_name)". */
  readonly names: readonly string[];
  /** wire[n]: 0 (varint) or 2 (length-delimited). */
  readonly wire: readonly number[];
}

/** `spec` lists "key:wireType" for fields 1, 2, 3, ... (every message numbers its fields without gaps). */
function fields(message: string, spec: string): Fields {
  const names = [message];
  const wire = [-1];
  for (const [i, field] of spec.split(" ").entries()) {
    const [key = "", wt = ""] = field.split(":");
    names.push(`${message} field ${i + 1} (${key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase())})`);
    wire.push(Number(wt));
  }
  return { names, wire };
}

export const TM = fields(
  "asynq.TaskMessage",
  "type:2 payload:2 id:2 queue:2 retry:0 retried:0 errorMsg:2 timeout:0 deadline:0 uniqueKey:2 " +
    "lastFailedAt:0 retention:0 completedAt:0 groupKey:2 headers:2",
);
export const SI = fields(
  "asynq.ServerInfo",
  "host:2 pid:0 serverId:2 concurrency:0 queues:2 strictPriority:0 status:2 startTime:2 activeWorkerCount:0",
);
export const WI = fields(
  "asynq.WorkerInfo",
  "host:2 pid:0 serverId:2 taskId:2 taskType:2 taskPayload:2 queue:2 startTime:2 deadline:2",
);
export const SE = fields(
  "asynq.SchedulerEntry",
  "id:2 spec:2 taskType:2 taskPayload:2 enqueueOptions:2 nextEnqueueTime:2 prevEnqueueTime:2",
);
export const EV = fields("asynq.SchedulerEnqueueEvent", "taskId:2 enqueueTime:2");

export const VARINT = 0;
export const LEN = 2;

// ---- Output slab --------------------------------------------------------------------------------
// Encoded messages (and decoded bytes fields) are views of a shared 8 KiB slab, as Node's Buffer pool
// does it: one typed-array object per result instead of a fresh ArrayBuffer, which costs several
// times more. A slab's bytes are never reused, so a view stays valid and unchanged for as long as it
// is referenced; like the pool, a slab is marked untransferable (postMessage copies it instead of
// taking it from the other views). Larger results get an ArrayBuffer of their own.

export const SLAB_SIZE = 8192;
export const POOLED_MAX = 1024;

function untransferable(buffer: ArrayBuffer): ArrayBuffer {
  markAsUntransferable(buffer);
  return buffer;
}

export let slab = untransferable(new ArrayBuffer(SLAB_SIZE));
export let slabBytes = new Uint8Array(slab);
export let slabBuffer = Buffer.from(slab);
let slabUsed = 0;

/** Reserves `size` bytes (1 <= size <= POOLED_MAX) of the slab and returns their offset. */
export function slabReserve(size: number): number {
  // byteLength 0: detached after all, by a means that ignores markAsUntransferable.
  if (slabUsed + size > SLAB_SIZE || slab.byteLength === 0) {
    slab = untransferable(new ArrayBuffer(SLAB_SIZE));
    slabBytes = new Uint8Array(slab);
    slabBuffer = Buffer.from(slab);
    slabUsed = 0;
  }
  const offset = slabUsed;
  slabUsed = (offset + size + 7) & ~7; // 8-byte aligned, like Node's pool
  return offset;
}

// ---- String conversions -------------------------------------------------------------------------
// Buffer's own per-encoding methods (latin1Slice, utf8Slice, latin1Write, utf8Write) skip the argument
// handling of toString() and write(), which costs as much as the copy for short strings. They are
// undocumented but as old as Buffer; without them the public methods do the same.

/** The methods of Buffer.prototype used when present. */
export interface BufferInternals {
  latin1Slice?: unknown;
  utf8Slice?: unknown;
  latin1Write?: unknown;
  utf8Write?: unknown;
}

type Slice = (this: Buffer, start: number, end: number) => string;
type Write = (this: Buffer, s: string, offset: number, length: number) => number;

/** String conversions of Buffers, by `internals` (Buffer.prototype) where it has the methods. */
export function bufferStrings(internals: BufferInternals) {
  const { latin1Slice, utf8Slice, latin1Write, utf8Write } = internals;
  return {
    /** `buf.toString("latin1", start, end)`. */
    latin1Slice:
      typeof latin1Slice === "function"
        ? (buf: Buffer, start: number, end: number): string => (latin1Slice as Slice).call(buf, start, end)
        : (buf: Buffer, start: number, end: number): string => buf.toString("latin1", start, end),
    /** `buf.toString("utf8", start, end)`. */
    utf8Slice:
      typeof utf8Slice === "function"
        ? (buf: Buffer, start: number, end: number): string => (utf8Slice as Slice).call(buf, start, end)
        : (buf: Buffer, start: number, end: number): string => buf.toString("utf8", start, end),
    /** `buf.write(s, offset, length, "latin1")`. */
    latin1Write:
      typeof latin1Write === "function"
        ? (buf: Buffer, s: string, offset: number, length: number): number =>
            (latin1Write as Write).call(buf, s, offset, length)
        : (buf: Buffer, s: string, offset: number, length: number): number =>
            buf.write(s, offset, length, "latin1"),
    /** `buf.write(s, offset, length, "utf8")`. */
    utf8Write:
      typeof utf8Write === "function"
        ? (buf: Buffer, s: string, offset: number, length: number): number =>
            (utf8Write as Write).call(buf, s, offset, length)
        : (buf: Buffer, s: string, offset: number, length: number): number =>
            buf.write(s, offset, length, "utf8"),
  };
}

export const strings = bufferStrings(Buffer.prototype as BufferInternals);

// ---- Empty arrays -------------------------------------------------------------------------------

/** Shared by the empty results: a view of it is a new empty array without a new ArrayBuffer. */
let emptyArrayBuffer = untransferable(new ArrayBuffer(0));

/** A new empty Uint8Array (`new Uint8Array(0)` allocates an ArrayBuffer, which costs several times more). */
export function emptyBytes(): Uint8Array {
  try {
    return new Uint8Array(emptyArrayBuffer);
  } catch {
    emptyArrayBuffer = untransferable(new ArrayBuffer(0)); // detached after all
    return new Uint8Array(emptyArrayBuffer);
  }
}
