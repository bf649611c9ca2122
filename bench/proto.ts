// Micro-benchmark of the TaskMessage protobuf codec (src/wire/proto.ts): encode and decode ops/s of
// a typical task message (what every enqueue encodes and every dequeue decodes) and of one with every
// field set. Decoding reads a Buffer, as ioredis returns it.
//
// Run: npx tsx bench/proto.ts [--rounds N] [--ms MS] [--json]
//   --rounds  timed rounds per case (default 9); the table shows the median and the min-max spread
//   --ms      length of one round in milliseconds (default 300)
//   --json    print the results as JSON instead of a table
import { randomUUID } from "node:crypto";
import type { TaskMessage } from "../src/wire/messages.js";
import { decodeTaskMessage, encodeTaskMessage, newTaskMessage } from "../src/wire/proto.js";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} needs a positive number`);
  return value;
}

const ROUNDS = option("--rounds", 9);
const ROUND_MS = option("--ms", 300);
const JSON_OUTPUT = process.argv.includes("--json");

/** A JSON payload of exactly `size` bytes. */
function jsonPayload(size: number): Uint8Array {
  const head = '{"user_id":42,"note":"';
  const tail = '"}';
  const text = head + "x".repeat(size - head.length - tail.length) + tail;
  return new TextEncoder().encode(text);
}

const typical = newTaskMessage({
  type: "bench:noop",
  payload: jsonPayload(100),
  id: randomUUID(),
  queue: "default",
  retry: 25,
  timeout: 1800n,
  deadline: 0n,
});

const full = newTaskMessage({
  type: "email:deliver",
  payload: jsonPayload(100),
  id: randomUUID(),
  queue: "critical",
  retry: 25,
  retried: 3,
  errorMsg: "dial tcp 10.0.0.7:25: connect: connection refused",
  timeout: 1800n,
  deadline: 1_700_003_600n,
  uniqueKey: "asynq:{critical}:unique:email:deliver:1181f89307fa271072c095747d5813cc",
  lastFailedAt: 1_700_000_000n,
  retention: 86_400n,
  completedAt: 1_700_000_100n,
  groupKey: "g1",
  headers: { "x-request-id": randomUUID(), "x-trace": "00-4bf92f3577b34da6a3ce929d0e0e4736-01" },
});

interface Result {
  name: string;
  bytes: number;
  opsPerSec: { median: number; min: number; max: number };
  nsPerOp: number;
}

let sink = 0; // keeps the optimiser from dropping the work

/** Runs `op` `n` times and returns the elapsed nanoseconds. */
function timed(op: () => number, n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sink += op();
  return Number(process.hrtime.bigint() - start);
}

function measure(name: string, bytes: number, op: () => number): Result {
  // Warm up (lets the JIT settle) and size the batch so that one batch takes ~10 ms.
  let batch = 1000;
  const warmEnd = performance.now() + Math.min(ROUND_MS, 500);
  while (performance.now() < warmEnd) {
    const ns = timed(op, batch);
    batch = Math.max(100, Math.round((batch * 10e6) / Math.max(ns, 1)));
  }
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let ops = 0;
    let ns = 0;
    while (ns < ROUND_MS * 1e6) {
      ns += timed(op, batch);
      ops += batch;
    }
    rates.push((ops * 1e9) / ns);
  }
  rates.sort((a, b) => a - b);
  const mid = Math.floor(rates.length / 2);
  const median = rates.length % 2 === 1 ? rates[mid]! : (rates[mid - 1]! + rates[mid]!) / 2;
  return {
    name,
    bytes,
    opsPerSec: { median, min: rates[0]!, max: rates[rates.length - 1]! },
    nsPerOp: 1e9 / median,
  };
}

function cases(label: string, msg: TaskMessage): Result[] {
  const encoded = encodeTaskMessage(msg);
  const asBuffer = Buffer.from(encoded); // what ioredis' hgetBuffer/evalsha returns
  return [
    measure(`encode ${label}`, encoded.length, () => encodeTaskMessage(msg).length),
    measure(`decode ${label}`, encoded.length, () => decodeTaskMessage(asBuffer).retry),
  ];
}

const results = [...cases("typical", typical), ...cases("full", full)];

if (JSON_OUTPUT) {
  console.log(JSON.stringify({ node: process.version, rounds: ROUNDS, roundMs: ROUND_MS, results }, null, 2));
} else {
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  console.log(`node ${process.version}, ${ROUNDS} rounds of ${ROUND_MS} ms per case (median, min-max)`);
  console.log(
    ["case".padEnd(16), "bytes".padStart(5), "ops/s".padStart(12), "ns/op".padStart(7), "  spread"].join(" "),
  );
  for (const r of results) {
    console.log(
      [
        r.name.padEnd(16),
        String(r.bytes).padStart(5),
        fmt(r.opsPerSec.median).padStart(12),
        r.nsPerOp.toFixed(0).padStart(7),
        `  ${fmt(r.opsPerSec.min)}-${fmt(r.opsPerSec.max)}`,
      ].join(" "),
    );
  }
}
if (sink === 0.5) console.log(sink);
