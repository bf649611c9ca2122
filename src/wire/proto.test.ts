// Tests of the protobuf codec (proto.ts): Go vectors (test/golden/protobuf.json), wire-format §2.8, errors.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { GO_ZERO_TIME_SECONDS, type TaskMessage, type Timestamp } from "./messages.js";
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
import { join } from "node:path";
import { GOLDEN_DIR } from "../../test/support/golden.js";

// ---- The vector file ----------------------------------------------------------------------------

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface EncodeCase {
  name: string;
  description: string;
  fields: JsonObject;
  hex: string;
  byte_length: number;
  plain_marshal_variants?: string[];
}

interface DecodeOnlyCase {
  message: string;
  name: string;
  hex: string;
  decoded: JsonObject;
  canonical_hex?: string;
  reencoded_hex?: string;
}

interface VectorFile {
  messages: Record<string, EncodeCase[]>;
  decode_only: DecodeOnlyCase[];
}

const vectors = JSON.parse(readFileSync(join(GOLDEN_DIR, "protobuf.json"), "utf8")) as VectorFile;

const encodeCases = Object.entries(vectors.messages).flatMap(([message, list]) =>
  list.map((c) => ({ message, ...c })),
);

// ---- Helpers ------------------------------------------------------------------------------------

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, "hex"));
const camel = (name: string): string => name.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
const EPOCH: Timestamp = { seconds: 0n, nanos: 0 };
const GO_ZERO: Timestamp = { seconds: GO_ZERO_TIME_SECONDS, nanos: 0 };

/** One message's codec plus the proto names of the fields whose JSON form needs converting. */
interface Codec {
  encode(m: object): Uint8Array;
  decode(bytes: Uint8Array): object;
  create(fields: object): object;
  int64: readonly string[];
  bytes: readonly string[];
  /** Timestamp fields (always written by our encoder) → field number. */
  timestamps: Readonly<Record<string, number>>;
}

function codec<M extends object>(
  encode: (m: M) => Uint8Array,
  decode: (bytes: Uint8Array) => M,
  create: (fields: Partial<M>) => M,
  kinds: Pick<Codec, "int64" | "bytes" | "timestamps">,
): Codec {
  return { encode: (m) => encode(m as M), decode, create: (f) => create(f), ...kinds };
}

const CODECS: Record<string, Codec> = {
  TaskMessage: codec(encodeTaskMessage, decodeTaskMessage, newTaskMessage, {
    int64: ["timeout", "deadline", "last_failed_at", "retention", "completed_at"],
    bytes: ["payload"],
    timestamps: {},
  }),
  ServerInfo: codec(encodeServerInfo, decodeServerInfo, newServerInfo, {
    int64: [],
    bytes: [],
    timestamps: { start_time: 8 },
  }),
  WorkerInfo: codec(encodeWorkerInfo, decodeWorkerInfo, newWorkerInfo, {
    int64: [],
    bytes: ["task_payload"],
    timestamps: { start_time: 8, deadline: 9 },
  }),
  SchedulerEntry: codec(encodeSchedulerEntry, decodeSchedulerEntry, newSchedulerEntry, {
    int64: [],
    bytes: ["task_payload"],
    timestamps: { next_enqueue_time: 6, prev_enqueue_time: 7 },
  }),
  SchedulerEnqueueEvent: codec(
    encodeSchedulerEnqueueEvent,
    decodeSchedulerEnqueueEvent,
    newSchedulerEnqueueEvent,
    {
      int64: [],
      bytes: [],
      timestamps: { enqueue_time: 2 },
    },
  ),
};

function codecFor(message: string): Codec {
  const c = CODECS[message];
  if (c === undefined) throw new Error(`no codec for message ${message} in the vectors`);
  return c;
}

/**
 * The vector's JSON `fields` as our TS message. A Timestamp the vector leaves out (a nil pointer in Go)
 * becomes null: absent on the wire, which is how our decoder reads an absent one.
 */
function toMessage(c: Codec, fields: JsonObject): object {
  const known = Object.keys(c.create({}));
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    const key = camel(name);
    expect(known, `field ${name}`).toContain(key);
    if (c.int64.includes(name)) out[key] = BigInt(value as string);
    else if (c.bytes.includes(name)) out[key] = fromHex(value as string);
    else if (name in c.timestamps) {
      const ts = value as JsonObject;
      out[key] = { seconds: BigInt(ts.seconds as string), nanos: ts.nanos as number };
    } else out[key] = structuredClone(value);
  }
  for (const name of Object.keys(c.timestamps)) out[camel(name)] ??= null;
  return c.create(out);
}

function decodeError(fn: () => unknown): ProtoDecodeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtoDecodeError);
    return e as ProtoDecodeError;
  }
  throw new Error("expected a ProtoDecodeError, but decoding succeeded");
}

// ---- Golden vectors -----------------------------------------------------------------------------

describe("protobuf.json vectors", () => {
  it("has every encode and decode-only case", () => {
    expect(encodeCases.length).toBeGreaterThanOrEqual(36);
    expect(vectors.decode_only.length).toBeGreaterThanOrEqual(3);
    expect(Object.keys(vectors.messages).sort()).toEqual(Object.keys(CODECS).sort());
  });

  it.each(encodeCases)("$message/$name: encodes to Go's bytes", ({ message, fields, hex, byte_length }) => {
    const c = codecFor(message);
    expect(hex.length / 2).toBe(byte_length);
    const message_ = toMessage(c, fields);
    const bytes = c.encode(message_);
    expect(toHex(bytes)).toBe(hex);
    expect(c.decode(bytes)).toEqual(message_);
  });

  it.each(encodeCases)(
    "$message/$name: decodes Go's bytes",
    ({ message, fields, hex, plain_marshal_variants }) => {
      const c = codecFor(message);
      const expected = toMessage(c, fields);
      expect(c.decode(fromHex(hex))).toEqual(expected);
      for (const variant of plain_marshal_variants ?? []) {
        expect(c.decode(fromHex(variant))).toEqual(expected);
        expect(toHex(c.encode(c.decode(fromHex(variant))))).toBe(hex);
      }
    },
  );

  // Field 15 is unknown to asynq v0.25.1, which made the vectors, but it is `headers` in our schema.
  const ourSchemaExtras: Record<string, JsonObject> = { unknown_field_15: { headers: { "x-trace": "abc" } } };

  it.each(vectors.decode_only)("decode-only $message/$name", (d) => {
    const c = codecFor(d.message);
    const decoded = c.decode(fromHex(d.hex));
    expect(decoded).toEqual(toMessage(c, { ...d.decoded, ...ourSchemaExtras[d.name] }));
    const canonical = d.canonical_hex ?? d.reencoded_hex;
    if (canonical === undefined) throw new Error(`${d.name} has neither canonical_hex nor reencoded_hex`);
    expect(toHex(c.encode(decoded))).toBe(canonical);
  });
});

// ---- wire-format §2.8 vectors --------------------------------------------------------------------------

describe("wire-format §2.8 vectors", () => {
  const TASK1 =
    "0a0d656d61696c3a64656c69766572120e7b22757365725f6964223a34327d1a2430623665653066332d346130642d346235" +
    "652d396633632d356432633866316537613130220764656661756c74281940880e";
  const TASK2 =
    "0a0d656d61696c3a64656c69766572120e7b22757365725f6964223a34327d1a2430623665653066332d346130642d346235" +
    "652d396633632d3564326338663165376131302208637269746963616c280330013a04626f6f6d4890fecfaa065246617379" +
    "6e713a7b637269746963616c7d3a756e697175653a656d61696c3a64656c697665723a313138316638393330376661323731" +
    "30373263303935373437643538313363635880e2cfaa066080a30568e4e2cfaa0672026731";
  const HDR15 = "7a0c0a0574726163651203616263";
  const ENTRY =
    "0a2435623166326333642d303030302d343030302d383030302d303030303030303030303031120a40657665727920333073" +
    "1a0c7265706f72743a6461696c792a0c517565756528226c6f7722292a0b4d617852657472792833293206089ee2cfaa063a" +
    "0b088092b8c398feffffff01";
  const EVENT =
    "0a2430623665653066332d346130642d346235652d396633632d356432633866316537613130" +
    "120c0880e2cfaa061080cab5ee01";
  const SERVER =
    "0a05686f7374311092211a2461386331643961302d303030302d343030302d383030302d303030303030303030303032200a" +
    "2a0b0a0764656661756c7410013a0661637469766542060880e2cfaa064801";
  const WORKER =
    "0a05686f7374311092211a2461386331643961302d303030302d343030302d383030302d303030303030303030303032222430" +
    "623665653066332d346130642d346235652d396633632d3564326338663165376131302a0d656d61696c3a64656c69766572" +
    "320e7b22757365725f6964223a34327d3a0764656661756c7442060880e2cfaa064a060888f0cfaa06";
  const MAPZERO = "2a050a01711000";

  const payload = new TextEncoder().encode('{"user_id":42}');
  const taskId = "0b6ee0f3-4a0d-4b5e-9f3c-5d2c8f1e7a10";
  const serverId = "a8c1d9a0-0000-4000-8000-000000000002";
  const task1 = newTaskMessage({
    type: "email:deliver",
    payload,
    id: taskId,
    queue: "default",
    retry: 25,
    timeout: 1800n,
  });
  const at = (seconds: bigint, nanos = 0): Timestamp => ({ seconds, nanos });

  const cases: [string, Codec, object, string][] = [
    ["TASK1", codecFor("TaskMessage"), task1, TASK1],
    [
      "TASK2",
      codecFor("TaskMessage"),
      newTaskMessage({
        ...task1,
        queue: "critical",
        retry: 3,
        retried: 1,
        errorMsg: "boom",
        timeout: 0n,
        deadline: 1700003600n,
        uniqueKey: "asynq:{critical}:unique:email:deliver:1181f89307fa271072c095747d5813cc",
        lastFailedAt: 1700000000n,
        retention: 86400n,
        completedAt: 1700000100n,
        groupKey: "g1",
      }),
      TASK2,
    ],
    ["TASK1+HDR15", codecFor("TaskMessage"), { ...task1, headers: { trace: "abc" } }, TASK1 + HDR15],
    [
      "ENTRY",
      codecFor("SchedulerEntry"),
      newSchedulerEntry({
        id: "5b1f2c3d-0000-4000-8000-000000000001",
        spec: "@every 30s",
        taskType: "report:daily",
        enqueueOptions: ['Queue("low")', "MaxRetry(3)"],
        nextEnqueueTime: at(1700000030n),
        prevEnqueueTime: GO_ZERO,
      }),
      ENTRY,
    ],
    [
      "EVENT",
      codecFor("SchedulerEnqueueEvent"),
      newSchedulerEnqueueEvent({ taskId, enqueueTime: at(1700000000n, 500_000_000) }),
      EVENT,
    ],
    [
      "SERVER",
      codecFor("ServerInfo"),
      newServerInfo({
        host: "host1",
        pid: 4242,
        serverId,
        concurrency: 10,
        queues: { default: 1 },
        status: "active",
        startTime: at(1700000000n),
        activeWorkerCount: 1,
      }),
      SERVER,
    ],
    [
      "WORKER",
      codecFor("WorkerInfo"),
      newWorkerInfo({
        host: "host1",
        pid: 4242,
        serverId,
        taskId,
        taskType: "email:deliver",
        taskPayload: payload,
        queue: "default",
        startTime: at(1700000000n),
        deadline: at(1700001800n),
      }),
      WORKER,
    ],
    // Go wrote MAPZERO with a nil start_time; we always write it (here: the epoch, `42 00`).
    [
      "MAPZERO",
      codecFor("ServerInfo"),
      newServerInfo({ queues: { q: 0 }, startTime: EPOCH }),
      MAPZERO + "4200",
    ],
  ];

  it.each(cases)("%s encodes and decodes", (_, c, message, hex) => {
    expect(toHex(c.encode(message))).toBe(hex);
    expect(c.decode(fromHex(hex))).toEqual(message);
  });

  it("decodes TASK1+HDR15 with the header as a known field, and MAPZERO with no start time", () => {
    const m = decodeTaskMessage(fromHex(TASK1 + HDR15));
    expect(m.headers).toEqual({ trace: "abc" });
    expect(m.unknownFields).toEqual(new Uint8Array(0));
    expect(toHex(encodeTaskMessage(m))).toBe(TASK1 + HDR15);
    expect(decodeServerInfo(fromHex(MAPZERO))).toEqual(newServerInfo({ queues: { q: 0 }, startTime: null }));
  });
});

// ---- Encoding rules -----------------------------------------------------------------------------

describe("encoding", () => {
  it("writes nothing for an all-default TaskMessage, and Go's zero time for unset timestamps", () => {
    expect(encodeTaskMessage(newTaskMessage({}))).toEqual(new Uint8Array(0));
    const goZero = "088092b8c398feffffff01";
    expect(toHex(encodeServerInfo(newServerInfo({})))).toBe("420b" + goZero);
    expect(toHex(encodeWorkerInfo(newWorkerInfo({})))).toBe("420b" + goZero + "4a0b" + goZero);
    expect(toHex(encodeSchedulerEntry(newSchedulerEntry({})))).toBe("320b" + goZero + "3a0b" + goZero);
    expect(toHex(encodeSchedulerEnqueueEvent(newSchedulerEnqueueEvent({})))).toBe("120b" + goZero);
  });

  it("fills every field in the constructors", () => {
    expect(newTaskMessage({ type: "t" })).toEqual({
      type: "t",
      payload: new Uint8Array(0),
      id: "",
      queue: "",
      retry: 0,
      retried: 0,
      errorMsg: "",
      timeout: 0n,
      deadline: 0n,
      uniqueKey: "",
      lastFailedAt: 0n,
      retention: 0n,
      completedAt: 0n,
      groupKey: "",
      headers: {},
      unknownFields: new Uint8Array(0),
    } satisfies TaskMessage);
    expect(newSchedulerEntry({ id: "e" })).toMatchObject({
      enqueueOptions: [],
      nextEnqueueTime: GO_ZERO,
      prevEnqueueTime: GO_ZERO,
    });
    expect(newServerInfo({ host: undefined })).toMatchObject({ host: "", queues: {}, strictPriority: false });
  });

  it("sign-extends negative int32 to 10 bytes and round-trips int32 and int64 limits", () => {
    const m = newTaskMessage({
      retry: -1,
      retried: -(2 ** 31),
      timeout: 2n ** 63n - 1n,
      deadline: -(2n ** 63n),
    });
    const hex = toHex(encodeTaskMessage(m));
    expect(hex).toBe(
      "28ffffffffffffffffff01" + "3080808080f8ffffffff01" + "40ffffffffffffffff7f" + "4880808080808080808001",
    );
    expect(decodeTaskMessage(fromHex(hex))).toEqual(m);
    const big = newTaskMessage({ timeout: 2n ** 53n + 1n, retention: 2n ** 63n - 1n });
    expect(decodeTaskMessage(encodeTaskMessage(big))).toEqual(big);
  });

  it.each([2 ** 31, -(2 ** 31) - 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    "rejects int32 %s",
    (retry) => {
      expect(() => encodeTaskMessage(newTaskMessage({ retry }))).toThrow(ProtoEncodeError);
      expect(() => encodeTaskMessage(newTaskMessage({ retry }))).toThrow(/TaskMessage field 5 \(retry\)/);
      expect(() => encodeServerInfo(newServerInfo({ queues: { q: retry } }))).toThrow(
        /field 5 \(queues\) key "q"/,
      );
    },
  );

  it.each([2n ** 63n, -(2n ** 63n) - 1n, 5 as unknown as bigint])("rejects int64 %s", (timeout) => {
    expect(() => encodeTaskMessage(newTaskMessage({ timeout }))).toThrow(/field 8 \(timeout\)/);
  });

  it.each([
    ["seconds before year 1", { seconds: GO_ZERO_TIME_SECONDS - 1n, nanos: 0 }],
    ["seconds after year 9999", { seconds: 253402300800n, nanos: 0 }],
    ["negative nanos", { seconds: 0n, nanos: -1 }],
    ["nanos of a full second", { seconds: 0n, nanos: 1_000_000_000 }],
    ["fractional nanos", { seconds: 0n, nanos: 0.5 }],
  ])("rejects a timestamp with %s", (_, ts) => {
    const err = (() => {
      try {
        encodeWorkerInfo(newWorkerInfo({ deadline: ts }));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ProtoEncodeError);
    expect(err).toMatchObject({ code: "ERR_PROTO_ENCODE", name: "ProtoEncodeError" });
    expect((err as Error).message).toMatch(/asynq\.WorkerInfo field 9 \(deadline\)/);
  });

  it("accepts the extreme valid timestamps", () => {
    const m = newWorkerInfo({ startTime: GO_ZERO, deadline: { seconds: 253402300799n, nanos: 999_999_999 } });
    expect(decodeWorkerInfo(encodeWorkerInfo(m))).toEqual(m);
  });

  it.each([
    ["type", () => encodeTaskMessage(newTaskMessage({ type: "a\uD800" })), /field 1 \(type\)/],
    ["error_msg", () => encodeTaskMessage(newTaskMessage({ errorMsg: "\uDC00x" })), /field 7 \(error_msg\)/],
    [
      "header key",
      () => encodeTaskMessage(newTaskMessage({ headers: { "\uD83D": "v" } })),
      /field 15 \(headers\)/,
    ],
    [
      "header value",
      () => encodeTaskMessage(newTaskMessage({ headers: { k: "\uDE00" } })),
      /headers\) key "k"/,
    ],
    ["queue name", () => encodeServerInfo(newServerInfo({ queues: { "q\uD800": 1 } })), /field 5 \(queues\)/],
    ["host", () => encodeWorkerInfo(newWorkerInfo({ host: "\uD800" })), /field 1 \(host\)/],
    [
      "option",
      () => encodeSchedulerEntry(newSchedulerEntry({ enqueueOptions: ["ok", "\uD800"] })),
      /options\)\[1\]/,
    ],
  ])("rejects a lone surrogate in %s", (_, encode, where) => {
    expect(encode).toThrow(ProtoEncodeError);
    expect(encode).toThrow(where);
  });

  it("encodes non-BMP characters (surrogate pairs) as 4-byte UTF-8", () => {
    expect(toHex(encodeTaskMessage(newTaskMessage({ type: "😀" })))).toBe("0a04f09f9880");
  });

  it("sorts map entries by the UTF-8 bytes of the key, not by UTF-16 or insertion order", () => {
    // UTF-16 order would put 😀 (D83D ...) before ｡ (FF61); in UTF-8, ｡ (EF ...) comes before 😀 (F0 ...).
    const m = newTaskMessage({ headers: { "😀": "4", "｡": "3", b: "2", a: "1" } });
    const decoded = decodeTaskMessage(encodeTaskMessage(m));
    expect(Object.keys(decoded.headers)).toEqual(["a", "b", "｡", "😀"]);
    expect(decoded).toEqual(m);
  });

  it("writes empty map keys and values and empty repeated strings", () => {
    expect(toHex(encodeTaskMessage(newTaskMessage({ headers: { "": "" } })))).toBe("7a040a001200");
    const entry = newSchedulerEntry({
      enqueueOptions: ["", "a", ""],
      nextEnqueueTime: EPOCH,
      prevEnqueueTime: EPOCH,
    });
    expect(toHex(encodeSchedulerEntry(entry))).toBe("2a00" + "2a0161" + "2a00" + "3200" + "3a00");
    expect(decodeSchedulerEntry(encodeSchedulerEntry(entry))).toEqual(entry);
  });

  it("keeps a __proto__ header key as data", () => {
    const headers = JSON.parse('{"__proto__":"x","a":"y"}') as Record<string, string>;
    const decoded = decodeTaskMessage(encodeTaskMessage(newTaskMessage({ headers })));
    expect(Object.keys(decoded.headers)).toEqual(["__proto__", "a"]);
    expect(Object.getOwnPropertyDescriptor(decoded.headers, "__proto__")?.value).toBe("x");
    expect(Object.getPrototypeOf(decoded.headers)).toBe(Object.prototype);
  });

  it("writes true booleans only", () => {
    expect(toHex(encodeServerInfo(newServerInfo({ strictPriority: true, startTime: EPOCH })))).toBe(
      "30014200",
    );
    expect(toHex(encodeServerInfo(newServerInfo({ strictPriority: false, startTime: EPOCH })))).toBe("4200");
  });
});

// ---- Decoding rules -----------------------------------------------------------------------------

describe("decoding", () => {
  it("keeps unknown fields of any wire type in order and writes them after the known fields", () => {
    // field 16 varint 5; field 99 bytes "abc"; field 17 fixed64; field 18 fixed32.
    const unknown = "800105" + "9a0603616263" + "89010102030405060708" + "950101020304";
    const m = decodeTaskMessage(fromHex("0a0174" + unknown));
    expect(m.type).toBe("t");
    expect(toHex(m.unknownFields)).toBe(unknown);
    expect(toHex(encodeTaskMessage(m))).toBe("0a0174" + unknown);
    // Unknown fields before known ones move behind them on re-encoding.
    expect(toHex(encodeTaskMessage(decodeTaskMessage(fromHex(unknown + "0a0174"))))).toBe("0a0174" + unknown);
    const server = decodeServerInfo(fromHex("5001" + "0a0168"));
    expect(toHex(encodeServerInfo(server))).toBe("0a0168" + "5001");
  });

  it("keeps the last value of a repeated scalar and the last entry of a repeated map key", () => {
    expect(decodeTaskMessage(fromHex("2801" + "2802" + "0a0161" + "0a0162")).retry).toBe(2);
    expect(decodeTaskMessage(fromHex("0a0161" + "0a0162")).type).toBe("b");
    expect(decodeTaskMessage(fromHex("7a060a016b120131" + "7a060a016b120132")).headers).toEqual({ k: "2" });
    expect(decodeServerInfo(fromHex("2a050a01711001" + "2a050a01711002")).queues).toEqual({ q: 2 });
  });

  it("merges repeated timestamp occurrences, as proto3 merges message fields", () => {
    expect(decodeServerInfo(fromHex("42020801" + "42021002")).startTime).toEqual({ seconds: 1n, nanos: 2 });
    expect(decodeServerInfo(fromHex("42020801" + "42020805")).startTime).toEqual({ seconds: 5n, nanos: 0 });
  });

  it("reads absent timestamps as null and missing map keys or values as defaults", () => {
    expect(decodeSchedulerEntry(new Uint8Array(0))).toMatchObject({
      nextEnqueueTime: null,
      prevEnqueueTime: null,
    });
    expect(decodeSchedulerEntry(fromHex("3200")).nextEnqueueTime).toEqual(EPOCH);
    expect(decodeServerInfo(fromHex("2a00" + "2a0310ff01")).queues).toEqual({ "": 255 });
    expect(decodeTaskMessage(fromHex("7a030a016b")).headers).toEqual({ k: "" });
  });

  it("truncates an oversized int32 varint like Go's int32() conversion", () => {
    expect(decodeTaskMessage(fromHex("288580808010")).retry).toBe(5);
  });

  it("keeps a UTF-8 byte order mark and accepts Buffer input", () => {
    const m = decodeTaskMessage(Buffer.from("0a03efbbbf", "hex"));
    expect(m.type).toBe("\uFEFF");
    expect(toHex(encodeTaskMessage(m))).toBe("0a03efbbbf");
  });

  it("copies bytes fields instead of aliasing the input", () => {
    const input = fromHex("12026869");
    const m = decodeTaskMessage(input);
    input.fill(0);
    expect(new TextDecoder().decode(m.payload)).toBe("hi");
  });

  it.each([
    ["TaskMessage", "tag without value", "28", /field 5 \(retry\)/],
    ["TaskMessage", "truncated varint", "2880", /field 5 \(retry\)/],
    ["TaskMessage", "varint of 11 bytes", "28" + "ff".repeat(10) + "01", /field 5 \(retry\)/],
    ["TaskMessage", "truncated tag", "80", /asynq\.TaskMessage/],
    ["TaskMessage", "length past the end", "0a05616263", /field 1 \(type\)/],
    ["TaskMessage", "length of 2^32 (0 in 32 bits)", "0a8080808010", /field 1 \(type\).*length/],
    ["TaskMessage", "varint for a string field", "0801", /field 1 \(type\).*wire type 0/],
    ["TaskMessage", "bytes for an int32 field", "2a0101", /field 5 \(retry\).*wire type 2/],
    ["TaskMessage", "fixed32 for an int64 field", "4501020304", /field 8 \(timeout\).*wire type 5/],
    ["TaskMessage", "group for a known field", "0b0c", /field 1 \(type\)/],
    ["TaskMessage", "group for an unknown field", "a301a401", /unknown field 20/],
    ["TaskMessage", "stray end group", "0c", /TaskMessage/],
    ["TaskMessage", "wire type 6", "0e00", /TaskMessage/],
    ["TaskMessage", "wire type 7", "0f00", /TaskMessage/],
    ["TaskMessage", "field number 0", "0001", /TaskMessage/],
    ["TaskMessage", "truncated unknown fixed64", "890101020304", /unknown field 17/],
    ["TaskMessage", "truncated unknown fixed32", "95010102", /unknown field 18/],
    ["TaskMessage", "truncated unknown bytes", "9a060561", /unknown field 99/],
    ["TaskMessage", "invalid UTF-8 in type", "0a01ff", /field 1 \(type\).*invalid UTF-8/],
    ["TaskMessage", "overlong UTF-8", "1a02c080", /field 3 \(id\).*invalid UTF-8/],
    ["TaskMessage", "UTF-8 encoded surrogate", "2203eda080", /field 4 \(queue\).*invalid UTF-8/],
    ["TaskMessage", "invalid UTF-8 in a header key", "7a050a01ff1200", /field 15 \(headers\) key.*UTF-8/],
    ["TaskMessage", "invalid UTF-8 in a header value", "7a050a001201ff", /field 15 \(headers\) value.*UTF-8/],
    ["TaskMessage", "truncated header entry", "7a030a0561", /field 15 \(headers\)/],
    ["ServerInfo", "bytes for a queue priority", "2a050a0171120100", /field 5 \(queues\) value.*wire type 2/],
    ["ServerInfo", "bytes for timestamp seconds", "42020a00", /field 8 \(start_time\) seconds/],
    ["ServerInfo", "truncated timestamp", "420208", /field 8 \(start_time\)/],
    ["ServerInfo", "varint for a timestamp", "4001", /field 8 \(start_time\).*wire type 0/],
    ["WorkerInfo", "varint for task_payload", "3001", /field 6 \(task_payload\)/],
    ["SchedulerEntry", "invalid UTF-8 in an option", "2a01ff", /field 5 \(enqueue_options\).*UTF-8/],
    ["SchedulerEnqueueEvent", "timestamp past the end", "1205", /field 2 \(enqueue_time\)/],
  ])("%s: rejects %s", (message, _, hex, where) => {
    const err = decodeError(() => codecFor(message).decode(fromHex(hex)));
    expect(err.code).toBe("ERR_PROTO_DECODE");
    expect(err.name).toBe("ProtoDecodeError");
    expect(err.message).toMatch(where);
    expect(err.message).toContain(`asynq.${message}`);
  });

  it("wraps the low-level error as the cause", () => {
    expect(decodeError(() => decodeTaskMessage(fromHex("2880"))).cause).toBeInstanceOf(Error);
    expect(decodeError(() => decodeTaskMessage(fromHex("0a01ff"))).cause).toBeInstanceOf(TypeError);
  });

  it("rejects input that is not a Uint8Array", () => {
    decodeError(() => decodeTaskMessage("0a0174" as unknown as Uint8Array));
  });

  it("throws only ProtoDecodeError for every truncation and for random corruptions of the vectors", () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (const { message, hex } of encodeCases) {
      const c = codecFor(message);
      const bytes = fromHex(hex);
      const inputs = [...Array(bytes.length).keys()].map((n) => bytes.subarray(0, n));
      for (let i = 0; i < 50; i++) {
        const corrupted = bytes.slice();
        if (corrupted.length > 0) corrupted[random(corrupted.length)] = random(256);
        inputs.push(
          corrupted,
          Uint8Array.from({ length: random(24) }, () => random(256)),
        );
      }
      for (const input of inputs) {
        try {
          c.decode(input);
        } catch (e) {
          expect(e, `${message} ${toHex(input)}`).toBeInstanceOf(ProtoDecodeError);
        }
      }
    }
  });
});
