// Worker child process: one asynq-ts Server or one BullMQ Worker with a no-op handler, driven over IPC.
//
//   node --import tsx bench/lib/worker.ts <asynq-ts|bullmq> <redis url> <concurrency> [--record] [--count-writes]
//     [--remove-on-complete]   (BullMQ: delete each job on completion, as asynq-ts does by default)
//     [--observe]              (asynq-ts: server metrics and tracing on; see observe.ts)
//     [--queues=a,b,c]         (asynq-ts: serve these queues, each at priority 1, instead of "default")
//
// Protocol: the child sends {type:"ready"} once built; on {type:"start"} it starts processing; on
// {type:"stop"} it sends {type:"report"} (CPU used since start, handler start times when --record,
// socket writes when --count-writes)
// and shuts down gracefully, then exits 0. The child imports only the library it runs: loading both
// took about 40% longer, which the layouts of many processes (10 x 5) pay ten times per run.
import { loadAsynqTs } from "./asynq.js";
import { observe } from "./observe.js";
import type { ChildMessage, ParentMessage } from "./children.js";
import { ASYNQ_QUEUE, BULL_QUEUE, bullConnection, type Lib } from "./names.js";
import { countSocketWrites, type WriteCounts } from "./socket-writes.js";
import { wallMs } from "./stats.js";

const [libArg, url, concurrencyArg, ...flags] = process.argv.slice(2);
const lib = libArg as Lib;
const concurrency = Number(concurrencyArg);
if ((lib !== "asynq-ts" && lib !== "bullmq") || url === undefined || !(concurrency >= 1)) {
  console.error("usage: worker.ts <asynq-ts|bullmq> <redis url> <concurrency> [--record]");
  process.exit(2);
}
const record = flags.includes("--record");
let stopCounting: (() => WriteCounts) | undefined;
const starts: [string, number][] = [];
let handled = 0;

const send = (message: ChildMessage): void => {
  process.send?.(message);
};

let startWork: () => void;
let shutdown: () => Promise<void>;
if (lib === "asynq-ts") {
  const { Server } = await loadAsynqTs();
  const queueFlag = flags.find((f) => f.startsWith("--queues="));
  const names = queueFlag === undefined ? [ASYNQ_QUEUE] : queueFlag.slice("--queues=".length).split(",");
  const queues = Object.fromEntries(names.map((name) => [name, 1]));
  const server = new Server(url, { concurrency, queues, logLevel: "warn" });
  const traced = flags.includes("--observe") ? await observe(server) : undefined;
  const plain = record
    ? (_task: unknown, ctx: { id: string }) => {
        starts.push([ctx.id, wallMs()]);
        handled++;
        return Promise.resolve();
      }
    : () => {
        handled++;
        return Promise.resolve();
      };
  const handler = traced === undefined ? plain : traced(plain);
  startWork = () => void server.start(handler);
  shutdown = () => server.shutdown();
} else {
  const { Worker } = await import("bullmq");
  const worker = new Worker(
    BULL_QUEUE,
    record
      ? (job) => {
          starts.push([job.id ?? "", wallMs()]);
          handled++;
          return Promise.resolve();
        }
      : () => {
          handled++;
          return Promise.resolve();
        },
    {
      connection: bullConnection(url),
      concurrency,
      autorun: false,
      ...(flags.includes("--remove-on-complete") ? { removeOnComplete: { count: 0 } } : {}),
    },
  );
  worker.on("error", (error) => console.error(`[bullmq worker] ${String(error)}`));
  await worker.waitUntilReady();
  startWork = () => {
    worker.run().catch((error: unknown) => console.error(`[bullmq worker] run: ${String(error)}`));
  };
  shutdown = () => worker.close();
}

let cpuAtStart = process.cpuUsage();
process.on("message", (message: ParentMessage) => {
  if (message.type === "start") {
    cpuAtStart = process.cpuUsage();
    if (flags.includes("--count-writes")) stopCounting = countSocketWrites();
    startWork();
  } else if (message.type === "stop") {
    const cpu = process.cpuUsage(cpuAtStart);
    const writes = stopCounting?.();
    send({ type: "report", cpuSeconds: (cpu.user + cpu.system) / 1e6, handled, starts, writes });
    void shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`[worker] shutdown failed: ${String(error)}`);
        process.exit(1);
      },
    );
  }
});
process.on("disconnect", () => process.exit(0));
send({ type: "ready" });
