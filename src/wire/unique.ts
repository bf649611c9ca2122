// The uniqueness lock key (wire-format §1.5): queue, type and the MD5 of the payload bytes.
import { createHash } from "node:crypto";
import { queuePrefix } from "./keys.js";

/**
 * `asynq:{<q>}:unique:<type>:<md5hex(payload)>`. A missing payload (`undefined`, Go's nil) gives an
 * empty checksum, as Go does for `NewTask(t, nil)`; a zero-length payload hashes to MD5("").
 */
export function uniqueKey(queue: string, type: string, payload: Uint8Array | undefined): string {
  const checksum = payload === undefined ? "" : createHash("md5").update(payload).digest("hex");
  return `${queuePrefix(queue)}unique:${type}:${checksum}`;
}
