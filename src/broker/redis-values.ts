// Small helpers shared by the broker modules: pipeline replies, byte views, counter expiry.
import * as crypto from "node:crypto";
import type { Redis } from "ioredis";
import { unixSeconds } from "../internal/clock.js";

/** How long a daily counter lives after its first increment: 90 days, in seconds (wire-format §1.4). */
export const STATS_TTL_SECONDS = 90 * 24 * 60 * 60;

/**
 * Runs a pipeline and returns its replies.
 * @throws the first command's error, or Error when the pipeline was aborted.
 */
export async function execPipeline(pipeline: ReturnType<Redis["pipeline"]>): Promise<unknown[]> {
  const replies = await pipeline.exec();
  if (replies === null) throw new Error("pipeline aborted");
  return replies.map(([error, reply]) => {
    if (error !== null) throw error;
    return reply;
  });
}

/** A Buffer view of the bytes (no copy). */
export function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The daily counters' expiry: now + 90 days, unix seconds (wire-format §4.8). */
export function statsExpireAt(nowMs: number): number {
  return unixSeconds(nowMs) + STATS_TTL_SECONDS;
}

/**
 * The SHA-1 of a message in hex: the fence of a write that carries no binary argument (the scripts
 * compare it with the stored message's, lua/move.lua). crypto.hash (Node 20.12+) is about twice as
 * fast as createHash for a message of this size.
 */
export const sha1Hex: (data: Uint8Array) => string =
  typeof crypto.hash === "function"
    ? (data) => crypto.hash("sha1", data, "hex")
    : (data) => crypto.createHash("sha1").update(data).digest("hex");
