// Enqueue-side Redis calls (spec §4.1-§4.9): which script, keys and arguments each enqueue takes.
import * as keys from "../wire/keys.js";
import { encodeTaskMessage } from "../wire/proto.js";
import type { TaskMessage } from "../wire/messages.js";
import { LuaScript, type ScriptArg } from "./scripts.js";

const scripts = {
  enqueue: LuaScript.fromFile("enqueue"),
  enqueueUnique: LuaScript.fromFile("enqueue_unique"),
  schedule: LuaScript.fromFile("schedule"),
  scheduleUnique: LuaScript.fromFile("schedule_unique"),
  addToGroup: LuaScript.fromFile("add_to_group"),
  addToGroupUnique: LuaScript.fromFile("add_to_group_unique"),
};

/** Where a new task goes, decided by the client (spec §5.13 routing). */
export type EnqueueTarget =
  { kind: "pending" } | { kind: "scheduled"; processAtSeconds: number } | { kind: "group"; group: string };

/** One task to write: its message, where it goes, and its lock TTL when unique. */
export interface EnqueueRequest {
  msg: TaskMessage;
  target: EnqueueTarget;
  /** Lock TTL in whole seconds (>= 1) when the task is unique; `msg.uniqueKey` names the lock. */
  uniqueTtlSeconds?: number;
}

/** What an enqueue script answered. */
export type EnqueueOutcome = "enqueued" | "duplicate" | "conflict";

/** A script call ready to run or pipeline. */
export interface ScriptCall {
  script: LuaScript;
  keys: string[];
  args: ScriptArg[];
}

/** An enqueue script call, with what a read-back needs to tell whether it was applied. */
export interface EnqueueCall extends ScriptCall {
  taskKey: string;
  /** The encoded message the call writes. */
  msg: Buffer;
}

/** Builds the script call for a request. `nowMs` gives the group score and `pending_since`. */
export function enqueueCall(req: EnqueueRequest, nowMs: number, pendingSinceNs: string): EnqueueCall {
  return {
    ...scriptCall(req, nowMs, pendingSinceNs),
    taskKey: keys.taskKey(req.msg.queue, req.msg.id),
    msg: encodedMsg(req),
  };
}

/** Encoded once per request (the same bytes go to Redis and to the read-back check). */
const encodings = new WeakMap<EnqueueRequest, Buffer>();
function encodedMsg(req: EnqueueRequest): Buffer {
  let encoded = encodings.get(req);
  if (encoded === undefined) {
    encoded = Buffer.from(encodeTaskMessage(req.msg));
    encodings.set(req, encoded);
  }
  return encoded;
}

function scriptCall(req: EnqueueRequest, nowMs: number, pendingSinceNs: string): ScriptCall {
  const { msg, target } = req;
  const q = msg.queue;
  const id = msg.id;
  const encoded = encodedMsg(req);
  const taskKey = keys.taskKey(q, id);
  const unique = req.uniqueTtlSeconds !== undefined;
  const ttl = req.uniqueTtlSeconds ?? 0;
  switch (target.kind) {
    case "pending":
      return unique
        ? {
            script: scripts.enqueueUnique,
            keys: [msg.uniqueKey, taskKey, keys.pendingKey(q)],
            args: [id, ttl, encoded, pendingSinceNs],
          }
        : {
            script: scripts.enqueue,
            keys: [taskKey, keys.pendingKey(q)],
            args: [encoded, id, pendingSinceNs],
          };
    case "scheduled":
      return unique
        ? {
            script: scripts.scheduleUnique,
            keys: [msg.uniqueKey, taskKey, keys.scheduledKey(q)],
            args: [id, ttl, target.processAtSeconds, encoded],
          }
        : {
            script: scripts.schedule,
            keys: [taskKey, keys.scheduledKey(q)],
            args: [encoded, target.processAtSeconds, id],
          };
    case "group": {
      const groupKeys = [taskKey, keys.groupKey(q, target.group), keys.allGroupsKey(q)];
      const nowSeconds = Math.floor(nowMs / 1000);
      return unique
        ? {
            script: scripts.addToGroupUnique,
            keys: [...groupKeys, msg.uniqueKey],
            args: [encoded, id, nowSeconds, target.group, ttl],
          }
        : { script: scripts.addToGroup, keys: groupKeys, args: [encoded, id, nowSeconds, target.group] };
    }
  }
}

/** Maps a script reply to an outcome. */
export function enqueueOutcome(reply: unknown): EnqueueOutcome | undefined {
  switch (reply) {
    case 1:
      return "enqueued";
    case -1:
      return "duplicate";
    case 0:
      return "conflict";
    default:
      return undefined;
  }
}
