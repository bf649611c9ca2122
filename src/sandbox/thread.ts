// One sandbox thread: a worker thread running runner.ts with the handler module loaded, which runs
// one attempt at a time. It reports how it ended (module load failure, process.exit, memory limit,
// uncaught exception, terminated) to the attempt it was running, and to its pool.
import { Worker, type ResourceLimits } from "node:worker_threads";
import { SandboxError, SandboxLoadError } from "../errors.js";
import { errorMessage } from "../internal/errors.js";
import type { TaskContext } from "../server/context.js";
import type { HandlerTask } from "../server/mux.js";
import { fromWireError, toWireError, type FromThread, type RunnerData, type ToThread } from "./protocol.js";
import type { RunnerLocation } from "./runner-location.js";

/** What a thread is started with. */
export interface ThreadSpec {
  readonly runner: RunnerLocation;
  readonly data: RunnerData;
  readonly resourceLimits: ResourceLimits | undefined;
  /** The thread's Node options; undefined inherits the parent's. */
  readonly execArgv: readonly string[] | undefined;
}

/** The attempt a thread runs. */
interface Running {
  readonly ctx: TaskContext;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** A worker thread with the handler module, reused from attempt to attempt. */
export class SandboxThread {
  readonly #worker: Worker;
  readonly #moduleUrl: string;
  readonly #ready: Promise<void>;
  #readyResolve!: () => void;
  #readyReject!: (error: Error) => void;
  #loaded = false;
  #running: Running | undefined;
  /** Why the thread is ending, once known (set before the `exit` event). */
  #ending: Error | undefined;
  /** Resolves once the thread has exited. */
  readonly exited: Promise<void>;

  constructor(spec: ThreadSpec) {
    this.#moduleUrl = spec.data.moduleUrl;
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    // Awaited by the pool; a rejection nobody awaits must not end the process.
    this.#ready.catch(() => {});
    try {
      this.#worker = new Worker(spec.runner.main, {
        eval: spec.runner.eval,
        workerData: spec.data,
        ...(spec.resourceLimits !== undefined ? { resourceLimits: spec.resourceLimits } : {}),
        ...(spec.execArgv !== undefined ? { execArgv: [...spec.execArgv] } : {}),
      });
    } catch (error) {
      // E.g. an `execArgv` flag Node does not allow in a thread (ERR_WORKER_INVALID_EXEC_ARGV).
      throw new SandboxLoadError(this.#moduleUrl, `its thread cannot start: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    this.#worker.on("message", (message: FromThread) => this.#onMessage(message));
    this.#worker.on("error", (error: Error) => this.#onError(error));
    this.exited = new Promise<void>((resolve) =>
      this.#worker.once("exit", (code: number) => {
        this.#onExit(code);
        resolve();
      }),
    );
  }

  /** Resolves once the module is loaded; rejects with SandboxLoadError, or SandboxError if the thread died. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Whether the module has loaded in this thread. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** Whether the thread is still alive and reusable. */
  get alive(): boolean {
    return this.#ending === undefined;
  }

  /**
   * Runs one attempt: resolves when the handler resolves, rejects with its error (rebuilt), or
   * with a SandboxError if the thread ends first.
   */
  run(task: HandlerTask, ctx: TaskContext): Promise<void> {
    if (this.#ending !== undefined) return Promise.reject(this.#ending);
    return new Promise<void>((resolve, reject) => {
      this.#running = { ctx, resolve, reject };
      // Exactly the payload's bytes (it may view a larger buffer, all of which cloning would copy), moved.
      const payload = new Uint8Array(task.payload);
      this.#post(
        {
          kind: "run",
          type: task.type,
          payload,
          headers: { ...task.headers },
          ctx: {
            id: ctx.id,
            queue: ctx.queue,
            retryCount: ctx.retryCount,
            maxRetry: ctx.maxRetry,
            deadline: ctx.deadline.getTime(),
          },
        },
        [payload.buffer],
      );
    });
  }

  /** Aborts the running attempt's signal in the thread, with `reason`. */
  abort(reason: unknown): void {
    if (this.#running !== undefined) this.#post({ kind: "abort", reason: toWireError(reason) });
  }

  /** Ends the thread; what it runs fails with `why`. Resolves once it has exited. */
  terminate(why: Error): Promise<void> {
    this.#ending ??= why;
    void this.#worker.terminate();
    return this.exited;
  }

  /** An idle thread must not keep the process alive; a busy one does, until its attempt ends. */
  hold(busy: boolean): void {
    if (busy) this.#worker.ref();
    else this.#worker.unref();
  }

  #post(message: ToThread, transfer: ArrayBuffer[] = []): void {
    this.#worker.postMessage(message, transfer);
  }

  #onMessage(message: FromThread): void {
    switch (message.kind) {
      case "ready":
        this.#loaded = true;
        this.#readyResolve();
        return;
      case "load-failed": {
        const cause = message.error === undefined ? undefined : fromWireError(message.error);
        const reason = cause === undefined ? message.reason : `${message.reason}: ${cause.message}`;
        const error = new SandboxLoadError(this.#moduleUrl, reason, { cause });
        this.#ending ??= error;
        this.#readyReject(error);
        this.#settle(error);
        return;
      }
      case "done":
        this.#settle(message.error === undefined ? undefined : fromWireError(message.error));
        return;
      case "write":
        this.#write(message.seq, message.bytes);
        return;
      case "progress":
        this.#progress(message.seq, message.json);
        return;
    }
  }

  /** A write from the thread, made with the parent's writer; the answer goes back to the thread. */
  #write(seq: number, bytes: Uint8Array): void {
    const running = this.#running;
    if (running === undefined) return;
    running.ctx.result.write(bytes).then(
      (written) => this.#answer({ kind: "written", seq, bytes: written }),
      (error: unknown) => this.#answer({ kind: "written", seq, error: toWireError(error) }),
    );
  }

  /** A progress report from the thread, made with the parent's context. */
  #progress(seq: number, json: string): void {
    const running = this.#running;
    if (running === undefined) return;
    running.ctx.progress(JSON.parse(json) as unknown).then(
      () => this.#answer({ kind: "written", seq }),
      (error: unknown) => this.#answer({ kind: "written", seq, error: toWireError(error) }),
    );
  }

  #answer(message: ToThread): void {
    if (this.#ending === undefined) this.#post(message);
  }

  #settle(error: Error | undefined): void {
    const running = this.#running;
    this.#running = undefined;
    if (running === undefined) return;
    if (error === undefined) running.resolve();
    else running.reject(error);
  }

  /** An uncaught exception in the thread, or its memory limit: the thread is ending. */
  #onError(error: Error): void {
    const code = (error as { code?: unknown }).code;
    this.#ending ??=
      code === "ERR_WORKER_OUT_OF_MEMORY"
        ? new SandboxError("out-of-memory", `sandbox thread ran out of memory: ${errorMessage(error)}`, {
            cause: error,
          })
        : new SandboxError(
            "uncaught-exception",
            `sandbox thread ended by an uncaught exception: ${errorMessage(error)}`,
            { cause: error },
          );
  }

  #onExit(code: number): void {
    this.#ending ??= new SandboxError(
      "exit",
      `sandbox thread exited with code ${code} (process.exit in the handler module?)`,
      { exitCode: code },
    );
    const ending = this.#ending;
    const loadFailed =
      this.#loaded ||
      ending instanceof SandboxLoadError ||
      (ending instanceof SandboxError && ending.reason === "closed")
        ? ending
        : new SandboxLoadError(this.#moduleUrl, `the thread ended while loading it: ${ending.message}`, {
            cause: ending,
          });
    this.#readyReject(loadFailed);
    this.#settle(ending);
  }
}
