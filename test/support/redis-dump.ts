// Dumps a Redis DB in the JSON shape of the Go golden snapshots (test/golden) and compares two dumps.
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import {
  decodeSchedulerEnqueueEvent,
  decodeSchedulerEntry,
  decodeServerInfo,
  decodeTaskMessage,
  decodeWorkerInfo,
} from "../../src/wire/proto.js";
import { parseOption } from "../../src/wire/option-strings.js";

// ---- The golden file shape ----------------------------------------------------------------------

/** The protobuf messages a dump decodes, named as the golden files name them. */
export type ProtoName =
  "TaskMessage" | "ServerInfo" | "WorkerInfo" | "SchedulerEntry" | "SchedulerEnqueueEvent";

/** A decoded protobuf value in the conventions of protobuf.json (int64 as strings, bytes as hex). */
export type DecodedValue =
  string | number | boolean | null | DecodedValue[] | { [field: string]: DecodedValue };
export type DecodedMessage = { [field: string]: DecodedValue };

/** Non-text bytes. */
export interface HexValue {
  hex: string;
}

/** A protobuf value: its bytes and their decoding. */
export interface ProtoValue {
  hex: string;
  proto: ProtoName;
  decoded: DecodedMessage;
  /** Set by `substitute` when a replacement changed the byte length: the hex no longer holds. */
  hexUnreliable?: true;
  /** Set by `dumpDb` when our decoder rejected the bytes. */
  decodeError?: string;
}

/** One stored value (string, hash field value, list/set element, zset member). */
export type StoredValue = string | HexValue | ProtoValue;

interface KeyBase {
  key: string;
  /** -1: no TTL; "positive": a TTL, given rounded in `ttl_approx_seconds`. */
  ttl: -1 | "positive";
  ttl_approx_seconds?: number;
}

export type DumpedKey =
  | (KeyBase & { type: "string"; value: StoredValue })
  | (KeyBase & { type: "hash"; value: Record<string, StoredValue> })
  | (KeyBase & { type: "list"; value: StoredValue[] })
  | (KeyBase & { type: "set"; value: StoredValue[] })
  | (KeyBase & { type: "zset"; value: Array<[StoredValue, number]> });

/** A full dump of one DB, keys sorted by name. */
export interface Snapshot {
  label?: string;
  key_count?: number;
  keys: DumpedKey[];
}

/** The TaskInfo a Go enqueue returned (times in unix seconds). */
export interface GoldenTaskInfo {
  id: string;
  queue: string;
  type: string;
  payload: string | null;
  state: string;
  max_retry: number;
  retried: number;
  last_err: string;
  last_failed_at_unix: number | null;
  timeout_seconds: number;
  deadline_unix: number | null;
  group: string;
  next_process_at_unix: number | null;
  retention_seconds: number;
  completed_at_unix: number | null;
  result: string | null;
}

/** One operation of a scenario. */
export interface GoldenOp {
  index: number;
  api: string;
  args: { task_type?: string; payload?: string | null; options?: string[]; [other: string]: unknown };
  at_unix: number;
  at_unix_ms: number;
  done_unix_ms: number;
  result?: GoldenTaskInfo | Record<string, unknown> | null;
  error?: string;
  error_kind?: string;
}

/** A golden scenario file (redis-snapshots/*.json). */
export interface GoldenScenario {
  scenario: string;
  title: string;
  description: string;
  notes: string[];
  ops: GoldenOp[];
  events: Array<Record<string, unknown>>;
  snapshots: Array<Snapshot & { label: string; taken_after_op: number; taken_at_unix_ms: number }>;
}

/** Reads a golden scenario file. @throws when it lacks the fields every scenario has. */
export function loadGoldenScenario(path: string): GoldenScenario {
  const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
  const s = parsed as Partial<GoldenScenario> | null;
  if (
    s === null ||
    typeof s.scenario !== "string" ||
    !Array.isArray(s.ops) ||
    !Array.isArray(s.snapshots) ||
    s.snapshots.length === 0
  ) {
    throw new Error(`${path} is not a golden scenario file (scenario, ops, snapshots)`);
  }
  return s as GoldenScenario;
}

/** The snapshot labelled `final` (the DB after all ops). */
export function finalSnapshot(s: GoldenScenario): Snapshot {
  const last = s.snapshots[s.snapshots.length - 1];
  if (last?.label !== "final") throw new Error(`${s.scenario}: the last snapshot is not labelled "final"`);
  return last;
}

/**
 * Unix seconds of the absolute instants the ops pass in (`ProcessAt`, `Deadline`). Scores equal to
 * one of these are not time-dependent: pass them as `exactScores` to `compareSnapshots`.
 */
export function fixedInstants(ops: readonly GoldenOp[]): Set<number> {
  const out = new Set<number>();
  for (const op of ops) {
    for (const s of op.args.options ?? []) {
      const o = parseOption(s);
      if (o.kind === "ProcessAt" || o.kind === "Deadline") out.add(Math.floor(o.at.getTime() / 1000));
    }
  }
  return out;
}

// ---- Dumping ------------------------------------------------------------------------------------

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const DECODERS: Record<ProtoName, (bytes: Uint8Array) => object> = {
  TaskMessage: decodeTaskMessage,
  ServerInfo: decodeServerInfo,
  WorkerInfo: decodeWorkerInfo,
  SchedulerEntry: decodeSchedulerEntry,
  SchedulerEnqueueEvent: decodeSchedulerEnqueueEvent,
};

/** Where asynq stores protobuf (README "redis-snapshots"): which message a value at a position holds. */
type Position = "string" | "hash-value" | "list-element" | "zset-member";
interface ProtoPlace {
  pattern: RegExp;
  position: Position;
  /** For hash values: only this field (all fields when absent). */
  field?: string;
  proto: ProtoName;
}
export const PROTO_PLACES: readonly ProtoPlace[] = [
  { pattern: /^asynq:\{[^}]*\}:t:/, position: "hash-value", field: "msg", proto: "TaskMessage" },
  { pattern: /^asynq:servers:\{/, position: "string", proto: "ServerInfo" },
  { pattern: /^asynq:workers:\{/, position: "hash-value", proto: "WorkerInfo" },
  { pattern: /^asynq:schedulers:\{/, position: "list-element", proto: "SchedulerEntry" },
  { pattern: /^asynq:scheduler_history:/, position: "zset-member", proto: "SchedulerEnqueueEvent" },
];

function protoAt(key: string, position: Position, field?: string): ProtoName | undefined {
  const place = PROTO_PLACES.find(
    (p) => p.position === position && p.pattern.test(key) && (p.field === undefined || p.field === field),
  );
  return place?.proto;
}

const snakeCase = (s: string): string => s.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());

/** A nested value of a decoded message in JSON conventions: Timestamps and maps are the only objects. */
function toDecodedValue(v: unknown): DecodedValue {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean" || v === null) return v;
  if (Array.isArray(v)) return v.map(toDecodedValue);
  if (typeof v === "object" && v !== undefined) {
    const entries = Object.entries(v);
    if ("seconds" in v && "nanos" in v && entries.length === 2) {
      return { seconds: toDecodedValue(v.seconds), nanos: toDecodedValue(v.nanos) };
    }
    entries.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return Object.fromEntries(entries.map(([k, x]) => [k, toDecodedValue(x)]));
  }
  throw new Error(`cannot render ${typeof v} as JSON`);
}

/** A decoded message as the golden files write it: proto field names; unknown bytes only when present. */
function toDecodedMessage(message: object): DecodedMessage {
  const out: DecodedMessage = {};
  for (const [k, v] of Object.entries(message)) {
    if (k === "unknownFields") {
      if (v instanceof Uint8Array && v.length > 0) out.unknown_fields = Buffer.from(v).toString("hex");
      continue;
    }
    out[snakeCase(k)] = toDecodedValue(v);
  }
  return out;
}

/** Renders stored bytes: protobuf where asynq keeps protobuf, else text when UTF-8, else hex. */
export function renderStored(bytes: Buffer, proto: ProtoName | undefined): StoredValue {
  const hex = bytes.toString("hex");
  if (proto !== undefined) {
    try {
      return { hex, proto, decoded: toDecodedMessage(DECODERS[proto](bytes)) };
    } catch (e) {
      return { hex, proto, decoded: {}, decodeError: e instanceof Error ? e.message : String(e) };
    }
  }
  try {
    return utf8.decode(bytes);
  } catch {
    return { hex };
  }
}

const byBytes = (a: Buffer, b: Buffer): number => Buffer.compare(a, b);

/**
 * Dumps every key of the connection's DB (SCAN; TYPE; PTTL; GET / HGETALL / LRANGE / SMEMBERS /
 * ZRANGE WITHSCORES) in the golden JSON shape, keys sorted by their bytes.
 */
export async function dumpDb(redis: Redis): Promise<Snapshot> {
  const names: Buffer[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scanBuffer(cursor, "COUNT", 1000);
    cursor = next.toString();
    names.push(...batch);
  } while (cursor !== "0");
  const unique = [...new Map(names.map((n) => [n.toString("hex"), n])).values()].sort(byBytes);

  const keys: DumpedKey[] = [];
  for (const name of unique) {
    const key = name.toString("utf8");
    const type = await redis.type(name);
    const pttl = await redis.pttl(name);
    if (type === "none" || pttl === -2) continue; // expired between SCAN and now
    // Properties in the golden files' order: key, type, ttl, ttl_approx_seconds, value.
    const ttl: Omit<KeyBase, "key"> =
      pttl === -1 ? { ttl: -1 } : { ttl: "positive", ttl_approx_seconds: Math.round(pttl / 1000) };
    switch (type) {
      case "string": {
        const v = await redis.getBuffer(name);
        if (v !== null) keys.push({ key, type, ...ttl, value: renderStored(v, protoAt(key, "string")) });
        break;
      }
      case "hash": {
        const h = await redis.hgetallBuffer(name);
        const fields = Object.keys(h).sort((a, b) => byBytes(Buffer.from(a), Buffer.from(b)));
        const value: Record<string, StoredValue> = {};
        for (const f of fields) value[f] = renderStored(h[f]!, protoAt(key, "hash-value", f));
        keys.push({ key, type, ...ttl, value });
        break;
      }
      case "list": {
        const items = await redis.lrangeBuffer(name, 0, -1);
        keys.push({
          key,
          type,
          ...ttl,
          value: items.map((i) => renderStored(i, protoAt(key, "list-element"))),
        });
        break;
      }
      case "set": {
        const members = (await redis.smembersBuffer(name)).sort(byBytes);
        keys.push({ key, type, ...ttl, value: members.map((m) => renderStored(m, undefined)) });
        break;
      }
      case "zset": {
        const flat = await redis.zrangeBuffer(name, 0, -1, "WITHSCORES");
        const value: Array<[StoredValue, number]> = [];
        for (let i = 0; i + 1 < flat.length; i += 2) {
          value.push([renderStored(flat[i]!, protoAt(key, "zset-member")), Number(flat[i + 1]!.toString())]);
        }
        keys.push({ key, type, ...ttl, value });
        break;
      }
      default:
        throw new Error(`dumpDb: key ${JSON.stringify(key)} has type ${type}, which the golden format lacks`);
    }
  }
  return { key_count: keys.length, keys };
}

// ---- Substitution -------------------------------------------------------------------------------

/** Fields of decoded messages that hold bytes (hex), where a substitution applies to the bytes. */
const BYTES_FIELDS: ReadonlySet<string> = new Set(["payload", "task_payload"]);

function replaceAll(s: string, replacements: ReadonlyMap<string, string>): string {
  let out = s;
  for (const [from, to] of replacements) out = out.split(from).join(to);
  return out;
}

/** Replaces whole byte sequences in hex; `lengthChanged` tells whether the byte length moved. */
function replaceInHex(
  hex: string,
  replacements: ReadonlyMap<string, string>,
): { hex: string; lengthChanged: boolean } {
  let bytes = Buffer.from(hex, "hex");
  const before = bytes.length;
  for (const [from, to] of replacements) {
    const f = Buffer.from(from, "utf8");
    const t = Buffer.from(to, "utf8");
    const parts: Buffer[] = [];
    let at = 0;
    for (let i = bytes.indexOf(f); i >= 0; i = bytes.indexOf(f, at)) {
      parts.push(bytes.subarray(at, i), t);
      at = i + f.length;
    }
    parts.push(bytes.subarray(at));
    bytes = Buffer.concat(parts);
  }
  return { hex: bytes.toString("hex"), lengthChanged: bytes.length !== before };
}

function substituteDecoded(v: DecodedValue, field: string, r: ReadonlyMap<string, string>): DecodedValue {
  if (typeof v === "string") return BYTES_FIELDS.has(field) ? replaceInHex(v, r).hex : replaceAll(v, r);
  if (Array.isArray(v)) return v.map((x) => substituteDecoded(x, field, r));
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [replaceAll(k, r), substituteDecoded(x, k, r)]),
    );
  }
  return v;
}

function substituteStored(v: StoredValue, r: ReadonlyMap<string, string>): StoredValue {
  if (typeof v === "string") return replaceAll(v, r);
  const { hex, lengthChanged } = replaceInHex(v.hex, r);
  if (!("proto" in v)) return { hex };
  const decoded: DecodedMessage = {};
  for (const [k, x] of Object.entries(v.decoded)) decoded[k] = substituteDecoded(x, k, r);
  const out: ProtoValue = { ...v, hex, decoded };
  if (lengthChanged || v.hexUnreliable) out.hexUnreliable = true;
  return out;
}

/**
 * A copy of `snapshot` with every occurrence of each `from` replaced by its `to` (e.g. Go's generated
 * task ID by ours): in key names, hash field names, text values, list/set/zset members, decoded
 * message strings, and the bytes of protobuf hex and bytes fields. When a replacement changes a
 * protobuf value's byte length its hex is marked unreliable and only `decoded` is compared.
 */
export function substitute(snapshot: Snapshot, replacements: ReadonlyMap<string, string>): Snapshot {
  if (replacements.size === 0) return snapshot;
  const keys = snapshot.keys.map((k): DumpedKey => {
    const key = replaceAll(k.key, replacements);
    const s = (v: StoredValue): StoredValue => substituteStored(v, replacements);
    switch (k.type) {
      case "string":
        return { ...k, key, value: s(k.value) };
      case "hash":
        return {
          ...k,
          key,
          value: Object.fromEntries(
            Object.entries(k.value).map(([f, v]) => [replaceAll(f, replacements), s(v)]),
          ),
        };
      case "list":
      case "set":
        return { ...k, key, value: k.value.map(s) };
      case "zset":
        return { ...k, key, value: k.value.map(([m, score]): [StoredValue, number] => [s(m), score]) };
    }
  });
  return { ...snapshot, keys };
}

// ---- Comparison ---------------------------------------------------------------------------------

/** Unit of a time-dependent value. */
export type TimeUnit = "s" | "ns";

/** Which values depend on when the scenario ran (README "Comparing against these files"). */
export interface TimeRules {
  /** Hash fields holding a time, by field name. */
  hashFields: Readonly<Record<string, TimeUnit>>;
  /** String keys whose value is a time. */
  stringKeys: ReadonlyArray<{ pattern: RegExp; unit: TimeUnit }>;
  /** Decoded message fields holding a time: int64 unix seconds or a Timestamp. */
  protoFields: Readonly<Record<ProtoName, readonly string[]>>;
}

export const DEFAULT_TIME_RULES: TimeRules = {
  hashFields: { pending_since: "ns" },
  stringKeys: [{ pattern: /^asynq:\{[^}]*\}:paused$/, unit: "s" }],
  protoFields: {
    TaskMessage: ["last_failed_at", "completed_at"],
    ServerInfo: ["start_time"],
    WorkerInfo: ["start_time", "deadline"],
    SchedulerEntry: ["next_enqueue_time", "prev_enqueue_time"],
    SchedulerEnqueueEvent: ["enqueue_time"],
  },
};

/**
 * Task hash fields asynq-ts adds and Go ignores (docs/compatibility.md): `claim`, the dequeue's claim
 * stamp, present only while the task is active. A golden comparison accepts it on an active task of
 * ours; anywhere else it is a difference.
 */
export const OUR_ACTIVE_TASK_FIELDS: ReadonlySet<string> = new Set(["claim"]);

export interface CompareOptions {
  /** How far a time-dependent value may be from Go's, in seconds. @defaultValue 2 */
  toleranceSeconds?: number;
  /** How far a TTL may be from Go's `ttl_approx_seconds`. @defaultValue 2 */
  ttlToleranceSeconds?: number;
  /**
   * Zset scores are times, so they are compared within the tolerance, except expected scores in
   * this set (fixed instants from the ops, see `fixedInstants`), which must match exactly.
   */
  exactScores?: ReadonlySet<number>;
  /** @defaultValue DEFAULT_TIME_RULES */
  timeRules?: TimeRules;
}

/** One difference between the expected (Go) and the actual (ours) dump. */
export interface Difference {
  key: string;
  /** Where inside the key, e.g. `hash field "msg" › decoded.timeout`; "" for the key itself. */
  where: string;
  expected: unknown;
  actual: unknown;
  /** Why they differ when it is not plain inequality (e.g. the tolerance). */
  note?: string;
}

const show = (v: unknown): string =>
  v === undefined ? "(absent)" : JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? `${x}n` : x));

/** One line per difference: `key › where: expected X, actual Y (note)`. */
export function formatDifferences(diffs: readonly Difference[]): string {
  return diffs
    .map(
      (d) =>
        `${d.key}${d.where === "" ? "" : ` › ${d.where}`}: expected ${show(d.expected)}, actual ${show(d.actual)}` +
        (d.note === undefined ? "" : ` (${d.note})`),
    )
    .join("\n");
}

/** Throws an Error listing every difference (one per line) when the dumps differ. */
export function assertSnapshotsMatch(expected: Snapshot, actual: Snapshot, options?: CompareOptions): void {
  const diffs = compareSnapshots(expected, actual, options);
  if (diffs.length > 0) {
    throw new Error(
      `Redis state differs from Go's in ${diffs.length} place(s):\n${formatDifferences(diffs)}`,
    );
  }
}

/** Exact equality of JSON-like values (key order of objects ignored). */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) =>
      Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

/** The proto3 default of a decoded field: what a field missing from one side must hold on the other. */
function isDefault(v: DecodedValue | undefined): boolean {
  if (v === undefined || v === null || v === "" || v === "0" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  // An absent Timestamp is null on both sides (the golden files and our decoder).
  if (typeof v === "object") return Object.keys(v).length === 0;
  return false;
}

/** A time value (int64 seconds string, number, or Timestamp) in seconds; undefined if it is none. */
function secondsOf(v: DecodedValue | undefined): number | undefined {
  if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
  if (typeof v === "number") return v;
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const { seconds, nanos } = v;
    if (typeof seconds === "string" && typeof nanos === "number") return Number(seconds) + nanos / 1e9;
  }
  return undefined;
}

class Comparer {
  readonly diffs: Difference[] = [];
  private readonly tolerance: number;
  private readonly ttlTolerance: number;
  private readonly exactScores: ReadonlySet<number>;
  private readonly rules: TimeRules;

  constructor(options: CompareOptions) {
    this.tolerance = options.toleranceSeconds ?? 2;
    this.ttlTolerance = options.ttlToleranceSeconds ?? 2;
    this.exactScores = options.exactScores ?? new Set();
    this.rules = options.timeRules ?? DEFAULT_TIME_RULES;
  }

  private diff(key: string, where: string, expected: unknown, actual: unknown, note?: string): void {
    this.diffs.push(
      note === undefined ? { key, where, expected, actual } : { key, where, expected, actual, note },
    );
  }

  snapshots(expected: Snapshot, actual: Snapshot): void {
    const ours = new Map(actual.keys.map((k) => [k.key, k]));
    const theirs = new Set(expected.keys.map((k) => k.key));
    for (const e of expected.keys) {
      const a = ours.get(e.key);
      if (a === undefined) this.diff(e.key, "", `a ${e.type} key`, undefined, "key missing");
      else this.key(e, a);
    }
    for (const a of actual.keys) {
      if (!theirs.has(a.key)) this.diff(a.key, "", undefined, `a ${a.type} key`, "unexpected key");
    }
  }

  private key(e: DumpedKey, a: DumpedKey): void {
    const k = e.key;
    if (e.type !== a.type) return this.diff(k, "type", e.type, a.type);
    if (e.ttl === -1 || a.ttl === -1) {
      if (e.ttl !== a.ttl) this.diff(k, "ttl", e.ttl, a.ttl);
    } else {
      const et = e.ttl_approx_seconds ?? 0;
      const at = a.ttl_approx_seconds ?? 0;
      if (Math.abs(et - at) > this.ttlTolerance) {
        this.diff(k, "ttl seconds", et, at, `more than ${this.ttlTolerance} s apart`);
      }
    }
    switch (e.type) {
      case "string": {
        const rule = this.rules.stringKeys.find((r) => r.pattern.test(k));
        return this.stored(k, "value", e.value, (a as typeof e).value, rule?.unit);
      }
      case "hash": {
        const av = (a as typeof e).value;
        const fields = new Set([...Object.keys(e.value), ...Object.keys(av)]);
        for (const f of [...fields].sort()) {
          const where = `hash field ${JSON.stringify(f)}`;
          const ef = e.value[f];
          const af = av[f];
          if (ef === undefined) {
            if (OUR_ACTIVE_TASK_FIELDS.has(f) && av.state === "active") continue;
            this.diff(k, where, undefined, af, "unexpected field");
          } else if (af === undefined) this.diff(k, where, ef, undefined, "field missing");
          else this.stored(k, where, ef, af, this.rules.hashFields[f]);
        }
        return;
      }
      case "list":
        return this.sequence(k, "list", e.value, (a as typeof e).value);
      case "set": {
        const order = (x: StoredValue, y: StoredValue): number => byBytes(bytesOf(x), bytesOf(y));
        return this.sequence(k, "set", [...e.value].sort(order), [...(a as typeof e).value].sort(order));
      }
      case "zset": {
        const av = (a as typeof e).value;
        if (e.value.length !== av.length) {
          this.diff(k, "zset size", e.value.length, av.length, `members ${show(e.value)} vs ${show(av)}`);
        }
        for (let i = 0; i < Math.min(e.value.length, av.length); i++) {
          const [em, es] = e.value[i]!;
          const [am, as] = av[i]!;
          this.stored(k, `zset member [${i}]`, em, am, undefined);
          if (this.exactScores.has(es)) {
            if (es !== as)
              this.diff(k, `score of member [${i}]`, es, as, "a fixed instant: must match exactly");
          } else if (!(Math.abs(es - as) <= this.tolerance)) {
            this.diff(
              k,
              `score of member [${i}]`,
              es,
              as,
              `time-dependent, more than ${this.tolerance} s apart`,
            );
          }
        }
        return;
      }
    }
  }

  private sequence(k: string, what: string, e: readonly StoredValue[], a: readonly StoredValue[]): void {
    if (e.length !== a.length) this.diff(k, `${what} length`, e.length, a.length, `${show(e)} vs ${show(a)}`);
    for (let i = 0; i < Math.min(e.length, a.length); i++)
      this.stored(k, `${what}[${i}]`, e[i]!, a[i]!, undefined);
  }

  private stored(k: string, where: string, e: StoredValue, a: StoredValue, time: TimeUnit | undefined): void {
    if (typeof e === "string") {
      if (typeof a !== "string") return this.diff(k, where, e, a, "expected text");
      if (time === undefined) {
        if (e !== a) this.diff(k, where, e, a);
        return;
      }
      if (!/^-?\d+$/.test(e) || !/^-?\d+$/.test(a))
        return this.diff(k, where, e, a, "expected an integer time");
      const perSecond = time === "ns" ? 1_000_000_000n : 1n;
      const gap = BigInt(e) - BigInt(a);
      if ((gap < 0n ? -gap : gap) > BigInt(this.tolerance) * perSecond) {
        this.diff(k, where, e, a, `time-dependent (${time}), more than ${this.tolerance} s apart`);
      }
      return;
    }
    if (!("proto" in e)) {
      if (typeof a === "string" || "proto" in a || a.hex !== e.hex) this.diff(k, where, e, a);
      return;
    }
    if (typeof a === "string" || !("proto" in a) || a.proto !== e.proto) {
      return this.diff(k, where, e, a, `expected a ${e.proto}`);
    }
    if (a.decodeError !== undefined)
      return this.diff(k, where, e.hex, a.hex, `undecodable: ${a.decodeError}`);
    this.message(k, where, e, a);
  }

  /** Compares decoded fields (time fields within the tolerance) and, when nothing is time-dependent, the bytes. */
  private message(k: string, where: string, e: ProtoValue, a: ProtoValue): void {
    const timeFields = new Set(this.rules.protoFields[e.proto]);
    let timeContent = false;
    const fields = new Set([...Object.keys(e.decoded), ...Object.keys(a.decoded)]);
    for (const f of fields) {
      const ef = e.decoded[f];
      const af = a.decoded[f];
      const at = `${where} › decoded.${f}`;
      if (ef === undefined || af === undefined) {
        // Fields one side lacks (e.g. headers, which v0.25.1 does not have) must hold their default.
        if (!isDefault(ef) || !isDefault(af)) this.diff(k, at, ef, af, "field on one side only");
        continue;
      }
      if (timeFields.has(f)) {
        const es = secondsOf(ef);
        const as = secondsOf(af);
        if (!isDefault(ef)) timeContent = true;
        if (isDefault(ef) && isDefault(af)) continue;
        if (es === undefined || as === undefined || !(Math.abs(es - as) <= this.tolerance)) {
          this.diff(k, at, ef, af, `time-dependent, more than ${this.tolerance} s apart`);
        }
        continue;
      }
      if (!jsonEqual(ef, af)) this.diff(k, at, ef, af);
    }
    if (!timeContent && !e.hexUnreliable && e.hex !== a.hex) {
      this.diff(k, `${where} › hex`, e.hex, a.hex, "no time-dependent field, so the bytes must be identical");
    }
  }
}

function bytesOf(v: StoredValue): Buffer {
  return typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v.hex, "hex");
}

/**
 * Compares a dump of ours (`actual`) with Go's (`expected`): the same keys and types; TTLs both
 * absent or both within `ttlToleranceSeconds`; hash fields, list order, set members, zset members in
 * order exactly; time-dependent values (DEFAULT_TIME_RULES, zset scores not in `exactScores`) within
 * `toleranceSeconds`; protobuf values field by field, and byte for byte when they hold no time.
 * @returns every difference found; empty when the dumps match.
 */
export function compareSnapshots(
  expected: Snapshot,
  actual: Snapshot,
  options: CompareOptions = {},
): Difference[] {
  const c = new Comparer(options);
  c.snapshots(expected, actual);
  return c.diffs;
}
