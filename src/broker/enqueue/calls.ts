// The enqueue_many calls (KEYS and ARGV, wire-format §4.1-§4.9) that write a list of tasks: grouped by
// queue and time, sliced by task count and bytes. The Enqueuer (enqueue.ts) sends them.
import { unixNanos } from "../../internal/clock.js";
import { toError } from "../../internal/errors.js";
import * as keys from "../../wire/keys.js";
import { encodeTaskMessage } from "../../wire/proto.js";
import type { EnqueueRequest } from "../ports.js";
import { toBuffer } from "../redis-values.js";

/** Most tasks in one enqueue_many call (a call keeps Redis busy for about 1 µs per task). */
export const MAX_TASKS_PER_CALL = 250;
/** Most message bytes in one enqueue_many call (at least one task per call). */
const MAX_BYTES_PER_CALL = 1 << 20;
/** A task to send; its key and encoded message are filled in when its call is built. */
export interface Prepared {
  req: EnqueueRequest;
  nowMs: number;
  taskKey: string;
  msg: Buffer;
  /** Why the task could not be encoded (it is then never sent). */
  unsent?: Error;
}

/** One enqueue_many call: some consecutive tasks of one queue with the same `nowMs`. */
export interface Call {
  queue: string;
  /** Indexes into the prepared tasks. */
  tasks: number[];
  numKeys: number;
  argv: Array<string | Buffer>;
  /**
   * True when other calls of its queue go with it: it is then sent with EVAL, which cannot meet
   * NOSCRIPT. A call re-sent after NOSCRIPT would land after the calls that followed it, and the
   * tasks of one queue must reach pending in the order given (see {@link buildCalls}).
   */
  ordered: boolean;
}

/** The message of a task not encoded yet. */
export const NOT_ENCODED = Buffer.alloc(0);

/** 0 … n-1. */
export function allIndexes(n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/**
 * The enqueue_many calls (KEYS and ARGV) that would write these tasks, at most `maxTasks` tasks
 * each; for tests.
 */
export function enqueueManyCalls(
  items: ReadonlyArray<{ req: EnqueueRequest; nowMs: number }>,
  maxTasks = MAX_TASKS_PER_CALL,
): Array<{ queue: string; keys: string[]; args: Array<string | Buffer> }> {
  const tasks = items.map(({ req, nowMs }) => ({ req, nowMs, taskKey: "", msg: NOT_ENCODED }));
  const calls: Array<{ queue: string; keys: string[]; args: Array<string | Buffer> }> = [];
  buildCalls(
    tasks,
    allIndexes(tasks.length),
    (call) =>
      calls.push({
        queue: call.queue,
        keys: call.argv.slice(0, call.numKeys) as string[],
        args: call.argv.slice(call.numKeys),
      }),
    maxTasks,
  );
  return calls;
}

/** An enqueue_many call being built. */
interface OpenCall {
  call: Call;
  nowMs: number;
  bytes: number;
  /** KEYS after the three container keys. */
  taskKeys: string[];
  /** ARGV after the four fixed ones. */
  args: Array<string | Buffer>;
  kinds: string;
}

/**
 * Groups tasks into enqueue_many calls and hands each to `emit` as soon as it is complete: per
 * queue, runs of consecutive tasks with the same `nowMs` (so every task keeps its own
 * `pending_since`), in slices. Tasks of one queue stay in order: the calls of a queue that needs
 * more than one are `ordered` (sent with EVAL, so that none is re-sent after the others on NOSCRIPT,
 * which a SCRIPT FLUSH or a failover to a server without the script would cause while another
 * client loads the script again). Encodes each task's message.
 */
export function buildCalls(
  tasks: Prepared[],
  indexes: readonly number[],
  emit: (call: Call) => void,
  maxTasks = MAX_TASKS_PER_CALL,
  keyPrefix = "",
): void {
  const open = new Map<string, OpenCall>();
  const ordered = queuesInSeveralCalls(tasks, indexes, maxTasks);
  const close = (queue: string, o: OpenCall): void => {
    open.delete(queue);
    const argv: Array<string | Buffer> = [
      keys.pendingKey(queue),
      keys.scheduledKey(queue),
      keys.allGroupsKey(queue),
    ];
    for (const key of o.taskKeys) argv.push(key);
    argv.push(
      unixNanos(o.nowMs),
      String(Math.floor(o.nowMs / 1000)),
      // The script cuts IDs from the task keys as it sees them (with ioredis' keyPrefix, if any).
      String(Buffer.byteLength(keyPrefix) + Buffer.byteLength(keys.taskKeyPrefix(queue))),
      o.kinds,
    );
    for (const arg of o.args) argv.push(arg);
    o.call.numKeys = 3 + o.taskKeys.length;
    o.call.argv = argv;
    emit(o.call);
  };
  for (const i of indexes) {
    const task = tasks[i]!;
    const { req, nowMs } = task;
    const { msg, target } = req;
    const queue = msg.queue;
    if (task.msg === NOT_ENCODED) {
      task.taskKey = keys.taskKey(queue, msg.id);
      let bytes: Uint8Array;
      try {
        bytes = encodeTaskMessage(msg);
      } catch (error) {
        // Not sent (and so never in doubt): the task fails on its own.
        task.unsent = toError(error);
        continue;
      }
      task.msg = Buffer.isBuffer(bytes) ? bytes : toBuffer(bytes);
    }
    let o = open.get(queue);
    if (o !== undefined && (o.nowMs !== nowMs || o.bytes + task.msg.length > MAX_BYTES_PER_CALL)) {
      close(queue, o);
      o = undefined;
    }
    if (o === undefined) {
      o = {
        call: { queue, tasks: [], numKeys: 0, argv: [], ordered: ordered.has(queue) },
        nowMs,
        bytes: 0,
        taskKeys: [],
        args: [],
        kinds: "",
      };
      open.set(queue, o);
    }
    o.call.tasks.push(i);
    o.bytes += task.msg.length;
    o.taskKeys.push(task.taskKey);
    o.args.push(task.msg);
    const ttl = req.uniqueTtlSeconds;
    let kind: string;
    if (target.kind === "pending") kind = ttl === undefined ? "p" : "P";
    else if (target.kind === "scheduled") {
      kind = ttl === undefined ? "s" : "S";
      o.args.push(String(target.processAtSeconds));
    } else kind = ttl === undefined ? "g" : "G";
    if (ttl !== undefined) {
      o.taskKeys.push(msg.uniqueKey);
      o.args.push(String(ttl));
    }
    if (target.kind === "group") {
      o.taskKeys.push(keys.groupKey(queue, target.group));
      o.args.push(target.group);
    }
    o.kinds += kind;
    if (o.call.tasks.length >= maxTasks) close(queue, o);
  }
  for (const [queue, o] of open) close(queue, o);
}

/**
 * The queues whose tasks may take more than one call: more than `maxTasks` tasks, a change of
 * `nowMs`, or payloads that may pass half the byte bound (the messages are not encoded yet, and
 * their other fields are small next to a payload that large).
 */
function queuesInSeveralCalls(tasks: Prepared[], indexes: readonly number[], maxTasks: number): Set<string> {
  const seen = new Map<string, { count: number; bytes: number; nowMs: number }>();
  const several = new Set<string>();
  for (const i of indexes) {
    const { req, nowMs } = tasks[i]!;
    const queue = req.msg.queue;
    const entry = seen.get(queue);
    if (entry === undefined) {
      seen.set(queue, { count: 1, bytes: req.msg.payload.length, nowMs });
      continue;
    }
    entry.count++;
    entry.bytes += req.msg.payload.length;
    if (entry.count > maxTasks || entry.bytes > MAX_BYTES_PER_CALL / 2 || entry.nowMs !== nowMs)
      several.add(queue);
  }
  return several;
}
