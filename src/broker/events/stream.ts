// A queue's event stream (asynq:{<q>}:events, written by the finish scripts through lua/events.lua):
// the listener's marker that makes the scripts write it, and the blocking reads of it. One blocking
// connection per stream; a read that outlives its BLOCK by `stallMs` takes the connection for
// half-open and replaces it, as the idle wait does (fetch/waiter.ts).
import type { Redis } from "ioredis";
import { toError } from "../../internal/errors.js";
import { eventsKey, eventsListeningKey } from "../../wire/keys.js";
import { duplicateConnection } from "../connection/cluster.js";
import { endNow } from "../connection/connection.js";
import { replaceWaiting } from "../connection/watchdog.js";
import type { EventStreamPort, StreamEntry, StreamInfo } from "../ports.js";
import { LuaScript, runScript } from "../scripts.js";

const streamInfoScript = LuaScript.fromFile("events/stream_info");

/** The stream ID before every entry. */
export const STREAM_START = "0-0";

/** {@link EventStreamPort} over Redis. */
export class EventStream implements EventStreamPort {
  private blocking: Redis | undefined;
  private closed = false;

  constructor(
    private readonly base: Redis,
    readonly queue: string,
    private readonly stallMs = 5000,
    private readonly onClose: (stream: EventStream) => void = () => {},
  ) {}

  async listen(ttlMs: number): Promise<void> {
    await this.base.set(eventsListeningKey(this.queue), "1", "PX", ttlMs);
  }

  async lastId(): Promise<string> {
    const last = (await this.base.xrevrange(eventsKey(this.queue), "+", "-", "COUNT", 1)) as [
      string,
      string[],
    ][];
    return last[0]?.[0] ?? STREAM_START;
  }

  read(afterId: string, blockMs: number, count: number): Promise<StreamEntry[]> {
    if (this.closed) return Promise.resolve([]);
    const redis = this.connection();
    return new Promise<StreamEntry[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Redis answers by the BLOCK time at the latest: silence past it means a half-open connection.
        replaceWaiting(
          redis,
          new Error(`no reply to XREAD for ${blockMs + this.stallMs} ms: connection replaced`),
        );
        resolve([]);
      }, blockMs + this.stallMs);
      timer.unref();
      redis.xreadBuffer("COUNT", count, "BLOCK", blockMs, "STREAMS", eventsKey(this.queue), afterId).then(
        (reply) => {
          clearTimeout(timer);
          resolve(parseEntries(reply));
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(toError(error));
        },
      );
    });
  }

  async info(): Promise<StreamInfo | undefined> {
    const reply = await runScript(this.base, streamInfoScript, [eventsKey(this.queue)], []);
    if (!Array.isArray(reply)) return undefined; // no stream
    const flat = reply as unknown[];
    const field = (name: string): unknown => {
      const at = flat.indexOf(name);
      return at < 0 ? undefined : flat[at + 1];
    };
    const first = field("first-entry");
    const added = field("entries-added");
    const lastGenerated = field("last-generated-id");
    return {
      lastGeneratedId: typeof lastGenerated === "string" ? lastGenerated : STREAM_START,
      length: Number(field("length") ?? 0),
      firstId: Array.isArray(first) && typeof first[0] === "string" ? first[0] : undefined,
      entriesAdded: added === undefined ? undefined : Number(added),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.blocking !== undefined) endNow(this.blocking);
    this.blocking = undefined;
    this.onClose(this);
  }

  private connection(): Redis {
    if (this.blocking === undefined) {
      // On a Cluster, a Cluster of its own: XREAD goes to the master of the queue's slot.
      this.blocking = duplicateConnection(this.base, {
        maxRetriesPerRequest: null,
        enableAutoPipelining: false,
        connectionName: "asynq-ts:events",
      });
      this.blocking.on("error", () => {}); // it reconnects by itself; a read in flight rejects
    }
    return this.blocking;
  }
}

/** XREAD's reply for one stream: `[[key, [[id, [field, value, …]], …]]]`, or null when it timed out. */
function parseEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const [, entries] = reply[0] as [Buffer, [Buffer, Buffer[]][]];
  const out: StreamEntry[] = [];
  for (const [id, flat] of entries) {
    const fields: Record<string, Buffer> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!.toString("utf8")] = flat[i + 1]!;
    out.push({ streamId: id.toString("latin1"), fields });
  }
  return out;
}

/** Orders two stream IDs (`<ms>-<seq>`). */
export function compareStreamIds(a: string, b: string): number {
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}
