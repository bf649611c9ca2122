// The watchdog of one Redis connection: notices when Redis has sent nothing while commands wait for
// replies (a half-open connection: a NAT or load balancer dropped the flow, so no FIN or RST will ever
// come), and destroys the socket so that ioredis reconnects and sends the waiting commands again.
//
// Why not ioredis's own options: `commandTimeout` rejects a command but keeps the dead socket (every
// later command waits on it too); `socketTimeout` (ioredis >= 5.4) destroys it, but its timer is not
// tied to the socket it was armed on, and connections passed in by the user may come from an older
// ioredis. A sweep that reads the socket's byte counter works the same on every ioredis 5.x.
import type { Redis } from "ioredis";

/** The parts of an ioredis connection the watchdog reads: public fields, present on every 5.x. */
interface Observed {
  status: string;
  stream?: { bytesRead?: number; destroyed?: boolean; destroy(error?: Error): void } | null;
  commandQueue?: { length: number };
}

/** Watchdog settings. */
interface WatchdogParams {
  /** How long Redis may send nothing while commands wait before the socket is destroyed. */
  stallMs: number;
  /** Whether the watchdog may destroy the socket (only on connections asynq-ts owns). */
  destroy: boolean;
  /** Hears of a socket the watchdog destroyed (and why), before ioredis reconnects. */
  onStall?: (error: Error) => void;
}

/**
 * Checks ten times per `stallMs`, at most every 500 ms: a silent socket is destroyed between
 * `stallMs` and `stallMs` + two sweeps (6 s with the default 5 s) after Redis last sent a byte.
 */
function sweepInterval(stallMs: number): number {
  return Math.max(10, Math.min(500, Math.floor(stallMs / 10)));
}

/**
 * Watches one connection. Also tracks when Redis last sent anything, which bounds the calls of a
 * Client or Inspector ({@link Watchdog.lastHeardAt}).
 */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private stream: Observed["stream"];
  private bytes = 0;
  /** When Redis last sent a byte (or, before any, when watching started). */
  private heardAt = Date.now();
  /** Since when commands have waited on the current socket with nothing received. */
  private quietSince: number | undefined;
  /** The socket last destroyed, so that one silent socket is destroyed once. */
  private condemned: Observed["stream"];
  private lastResetAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly params: WatchdogParams,
  ) {}

  /** Starts sweeping (idempotent). The timer does not keep the process alive. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.sweep(), sweepInterval(this.params.stallMs));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** When Redis last sent anything on this connection (ms since the epoch). */
  lastHeardAt(): number {
    this.sample();
    return this.heardAt;
  }

  /**
   * Destroys the socket now if it looks alive but is not answering (a failed health check), unless
   * the watchdog may not, or a socket was already replaced within the last `stallMs` (so a burst of
   * failures cannot make a reconnection storm).
   * @returns whether the socket was destroyed.
   */
  reset(reason: Error): boolean {
    const { status, stream } = this.observed();
    if (!this.params.destroy || (status !== "ready" && status !== "connect")) return false;
    if (stream === undefined || stream === null || stream === this.condemned) return false;
    if (Date.now() - this.lastResetAt < this.params.stallMs) return false;
    this.kill(stream, reason);
    return true;
  }

  private observed(): Observed {
    return this.redis;
  }

  /** Notes whether bytes arrived since the last look. */
  private sample(): boolean {
    const { stream } = this.observed();
    const bytes = stream?.bytesRead ?? 0;
    if (stream !== this.stream) {
      this.stream = stream;
      this.bytes = 0;
    }
    if (bytes <= this.bytes) return false;
    this.bytes = bytes;
    this.heardAt = Date.now();
    return true;
  }

  private sweep(): void {
    const heard = this.sample();
    const { status, stream, commandQueue } = this.observed();
    const waiting = (commandQueue?.length ?? 0) > 0;
    // "connect" is the handshake (AUTH, SELECT, INFO): a silent one is as stuck as a silent "ready".
    const live = status === "ready" || status === "connect";
    if (heard || !waiting || !live || stream === undefined || stream === null) {
      this.quietSince = undefined;
      return;
    }
    const now = Date.now();
    // Counted from the first sweep that saw the silence (not earlier: the commands may be new).
    this.quietSince ??= now;
    if (now - this.quietSince < this.params.stallMs || !this.params.destroy) return;
    if (stream === this.condemned) return;
    this.kill(
      stream,
      new Error(`no reply from Redis for ${now - this.quietSince} ms: connection replaced (half-open?)`),
    );
  }

  private kill(stream: NonNullable<Observed["stream"]>, reason: Error): void {
    this.condemned = stream;
    this.quietSince = undefined;
    this.lastResetAt = Date.now();
    this.params.onStall?.(reason);
    // The 'error' and 'close' events that follow make ioredis reconnect, and re-send the commands that
    // were waiting (with the reconnect back-off of its retryStrategy).
    stream.destroy(reason);
  }
}
