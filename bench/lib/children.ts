// Parent side of the worker children (bench/lib/worker.ts): spawn, wait ready, start, stop, collect.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Lib } from "./libs.js";
import type { WriteCounts } from "./socket-writes.js";

/** Messages from the parent to a worker child. */
export type ParentMessage = { type: "start" } | { type: "stop" };

/** Messages from a worker child to the parent. */
export type ChildMessage =
  | { type: "ready" }
  | {
      type: "report";
      /** CPU seconds (user + system) of the child from "start" to "stop". */
      cpuSeconds: number;
      /** Handler calls. */
      handled: number;
      /** [task ID, wall ms at handler start], when recording. */
      starts: [string, number][];
      /** Socket writes from "start" to "stop", when counting. */
      writes: WriteCounts | undefined;
    };

/** What a child reported when stopped. */
export type WorkerReport = Extract<ChildMessage, { type: "report" }>;

const WORKER = fileURLToPath(new URL("./worker.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let spawned = 0;

/** Options of the worker children. */
export interface WorkerOptions {
  /** Record handler start times (latency scenario). */
  record?: boolean;
  /** Count the child's socket writes (command-count scenario). */
  countWrites?: boolean;
  /** Write a V8 CPU profile of each child to this directory (`node --cpu-prof`). */
  cpuProfDir?: string;
  /** BullMQ: delete each job on completion (`removeOnComplete: { count: 0 }`); asynq-ts ignores it. */
  removeOnComplete?: boolean;
  /** asynq-ts: server metrics and tracing on (`--observe`); BullMQ ignores it. */
  observe?: boolean;
  /** asynq-ts: the queues to serve, each at priority 1 (default: the one queue of names.ts). */
  queues?: readonly string[];
}

/** A running worker child. */
export class WorkerChild {
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;
  private reported: Promise<WorkerReport> | undefined;
  private readonly exited: Promise<number | null>;

  constructor(lib: Lib, url: string, concurrency: number, options: WorkerOptions = {}) {
    const nodeArgs = ["--import", "tsx"];
    if (options.cpuProfDir !== undefined) {
      // One folder per child: tsx's loader thread writes a profile too (the main thread's has tid 0).
      const dir = join(options.cpuProfDir, `${lib}-c${concurrency}-${Date.now()}-${++spawned}`);
      nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${dir}`);
    }
    const args = [...nodeArgs, WORKER, lib, url, String(concurrency)];
    if (options.record === true) args.push("--record");
    if (options.countWrites === true) args.push("--count-writes");
    if (options.removeOnComplete === true) args.push("--remove-on-complete");
    if (options.observe === true) args.push("--observe");
    if (options.queues !== undefined) args.push(`--queues=${options.queues.join(",")}`);
    this.child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
    this.ready = new Promise((resolve, reject) => {
      this.child.once("exit", (code) => reject(new Error(`${lib} worker exited early with code ${code}`)));
      this.child.on("message", (message: ChildMessage) => {
        if (message.type === "ready") resolve();
      });
    });
    // An early exit is reported through whichever wait comes first; never unhandled.
    this.ready.catch(() => {});
  }

  /** Resolves once the child has built its server and connected. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Tells the child to start processing. */
  start(): void {
    this.child.send({ type: "start" } satisfies ParentMessage);
  }

  /** Stops the child: resolves to its report once it has shut down and exited. */
  async stop(): Promise<WorkerReport> {
    this.reported ??= new Promise<WorkerReport>((resolve, reject) => {
      this.child.on("message", (message: ChildMessage) => {
        if (message.type === "report") resolve(message);
      });
      this.child.once("exit", (code) =>
        reject(new Error(`worker exited with code ${code} before reporting`)),
      );
      this.child.send({ type: "stop" } satisfies ParentMessage);
    });
    const report = await this.reported;
    const code = await this.exited;
    if (code !== 0) throw new Error(`worker exited with code ${code}`);
    return report;
  }

  /** Kills the child if it still runs (error paths). */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

/**
 * Spawns `processes` children of `concurrency` each and waits until all are ready.
 * @throws Error when a child exits before it is ready (the others are killed).
 */
export async function spawnWorkers(
  lib: Lib,
  url: string,
  processes: number,
  concurrency: number,
  options: WorkerOptions = {},
): Promise<WorkerChild[]> {
  const children = Array.from({ length: processes }, () => new WorkerChild(lib, url, concurrency, options));
  try {
    await Promise.all(children.map((c) => c.whenReady()));
  } catch (error) {
    for (const c of children) c.kill();
    throw error;
  }
  return children;
}
