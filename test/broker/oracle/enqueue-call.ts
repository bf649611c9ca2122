// The test oracle for enqueue_many: asynq's six single-task enqueue scripts (wire-format §4.2-§4.7),
// beside this file, and the call that writes one request through them. The library writes every task
// with enqueue_many (src/broker/enqueue/); test/broker/enqueue-many.test.ts checks that it writes
// exactly what these write, and test/broker/scripts.test.ts checks their headers and KEYS.
import { readFileSync } from "node:fs";
import type { EnqueueRequest } from "../../../src/broker/enqueue/enqueue.js";
import { toBuffer } from "../../../src/broker/redis-values.js";
import { LuaScript, type ScriptArg } from "../../../src/broker/scripts.js";
import * as keys from "../../../src/wire/keys.js";
import { encodeTaskMessage } from "../../../src/wire/proto.js";

/** This folder, which holds the oracle's scripts. */
export const ORACLE_DIR = new URL("./", import.meta.url);

/**
 * Reads `<name>.lua` of this folder as a script named `oracle/<name>`. These scripts include no
 * shared Lua (`-- @include`, which only the broker's own scripts may use).
 */
export function oracleScript(name: string): LuaScript {
  const source = readFileSync(new URL(`${name}.lua`, ORACLE_DIR), "utf8");
  if (source.includes("-- @include")) throw new Error(`oracle/${name}.lua: includes are not supported here`);
  return new LuaScript(`oracle/${name}`, source);
}

const scripts = {
  enqueue: oracleScript("enqueue"),
  enqueueUnique: oracleScript("enqueue_unique"),
  schedule: oracleScript("schedule"),
  scheduleUnique: oracleScript("schedule_unique"),
  addToGroup: oracleScript("add_to_group"),
  addToGroupUnique: oracleScript("add_to_group_unique"),
};

/** A single-task script call. */
interface EnqueueCall {
  script: LuaScript;
  keys: string[];
  args: ScriptArg[];
}

/**
 * Builds the single-task script call for a request (wire-format §4.2-§4.7). `nowMs` gives the group
 * score, `pendingSinceNs` the `pending_since` field.
 */
export function enqueueCall(req: EnqueueRequest, nowMs: number, pendingSinceNs: string): EnqueueCall {
  const { msg, target } = req;
  const q = msg.queue;
  const id = msg.id;
  const encoded = toBuffer(encodeTaskMessage(msg));
  const taskKey = keys.taskKey(q, id);
  const ttl = req.uniqueTtlSeconds;
  const call = (script: LuaScript, callKeys: string[], args: ScriptArg[]): EnqueueCall => ({
    script,
    keys: callKeys,
    args,
  });
  switch (target.kind) {
    case "pending":
      return ttl !== undefined
        ? call(
            scripts.enqueueUnique,
            [msg.uniqueKey, taskKey, keys.pendingKey(q)],
            [id, ttl, encoded, pendingSinceNs],
          )
        : call(scripts.enqueue, [taskKey, keys.pendingKey(q)], [encoded, id, pendingSinceNs]);
    case "scheduled":
      return ttl !== undefined
        ? call(
            scripts.scheduleUnique,
            [msg.uniqueKey, taskKey, keys.scheduledKey(q)],
            [id, ttl, target.processAtSeconds, encoded],
          )
        : call(scripts.schedule, [taskKey, keys.scheduledKey(q)], [encoded, target.processAtSeconds, id]);
    case "group": {
      const groupKeys = [taskKey, keys.groupKey(q, target.group), keys.allGroupsKey(q)];
      const nowSeconds = Math.floor(nowMs / 1000);
      return ttl !== undefined
        ? call(
            scripts.addToGroupUnique,
            [...groupKeys, msg.uniqueKey],
            [encoded, id, nowSeconds, target.group, ttl],
          )
        : call(scripts.addToGroup, groupKeys, [encoded, id, nowSeconds, target.group]);
    }
  }
}
