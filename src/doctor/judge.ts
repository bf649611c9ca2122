// Doctor's judgement of one task hash from its fields: sound, or corrupt and why (no Redis I/O).
import type { TaskFields } from "../broker/doctor/port.js";
import * as keys from "../wire/keys.js";
import { TASK_STATES, type TaskState } from "../wire/keys.js";
import type { TaskMessage } from "../wire/messages.js";
import { decodeTaskMessage } from "../wire/proto.js";

/** A task hash judged from its fields. */
export interface Judged {
  id: string;
  fields: TaskFields;
  state: TaskState | undefined;
  msg: TaskMessage | undefined;
  /** The group: the hash field, else msg.group_key. */
  group: string | null;
  /** What makes it corrupt; empty when it is sound. */
  problems: string[];
}

/** Whether a `state` field names a task state. */
export const isTaskState = (s: string | null): s is TaskState =>
  s !== null && (TASK_STATES as readonly string[]).includes(s);

/** Judges one task hash: state, msg decoding, msg.id / msg.queue against the key, group of an aggregating task. */
export function judgeTask(queue: string, id: string, fields: TaskFields): Judged {
  const problems: string[] = [];
  const state = isTaskState(fields.state) ? fields.state : undefined;
  if (fields.state === null) problems.push("no state field");
  else if (state === undefined) problems.push(`unknown state ${JSON.stringify(fields.state)}`);
  let msg: TaskMessage | undefined;
  if (fields.msg === null) problems.push("no msg field");
  else {
    try {
      msg = decodeTaskMessage(fields.msg);
    } catch (error) {
      problems.push(`msg does not decode (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  if (msg !== undefined && msg.id !== id) problems.push(`msg.id is ${JSON.stringify(msg.id)}`);
  if (msg !== undefined && msg.queue !== queue) problems.push(`msg.queue is ${JSON.stringify(msg.queue)}`);
  const group = fields.group ?? (msg?.groupKey ? msg.groupKey : null);
  if (state === "aggregating" && group === null) problems.push("aggregating without a group");
  return { id, fields, state, msg, group, problems };
}

/** The uniqueness lock of a task, when it names a lock of this queue (a key of another slot is never touched). */
export function lockOf(queue: string, fields: TaskFields, msg: TaskMessage | undefined): string {
  const lock = fields.uniqueKey ?? msg?.uniqueKey ?? "";
  return lock.startsWith(`${keys.queuePrefix(queue)}unique:`) ? lock : "";
}
