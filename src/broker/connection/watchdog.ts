// The watchdog of a Redis connection: notices when Redis has sent nothing while commands wait for
// replies (a half-open connection: a NAT or load balancer dropped the flow, so no FIN or RST will ever
// come), and destroys the socket so that ioredis reconnects and sends the waiting commands again.
// A Cluster has one socket per node, and one for its subscriber: each is watched on its own (a
// destroyed node connection ends, and the Cluster re-sends what waited on it through a new one).
//
// Why not ioredis's own options: `commandTimeout` rejects a command but keeps the dead socket (every
// later command waits on it too); `socketTimeout` (ioredis >= 5.4) destroys it, but its timer is not
// tied to the socket it was armed on, and connections passed in by the user may come from an older
// ioredis. A sweep that reads the socket's byte counter works the same on every ioredis 5.x.
import type { Cluster, Redis } from "ioredis";
import { isCluster } from "./cluster.js";

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
 * The sockets behind a connection: itself, or a Cluster's node connections (the ones it has opened so
 * far; they change with the topology) and its subscriber connection, if any.
 */
export function socketsOf(redis: Redis): Observed[] {
  if (!isCluster(redis)) return [redis];
  const sockets: Observed[] = (redis as unknown as Cluster).nodes("all");
  const subscriber = clusterSubscriber(redis);
  if (subscriber !== undefined) sockets.push(subscriber);
  return sockets;
}

/**
 * The connection a Cluster subscribes on (ioredis keeps it outside the node pool, and picks another
 * node when it ends); none before the first SUBSCRIBE.
 */
export function clusterSubscriber(redis: Redis): Redis | undefined {
  const { subscriber } = redis as unknown as { subscriber?: { getInstance?(): unknown } };
  const instance = subscriber?.getInstance?.();
  return typeof instance === "object" && instance !== null ? (instance as Redis) : undefined;
}

/**
 * Destroys every socket of `redis` that looks alive and has commands waiting (a blocking command that
 * outlived its own timeout: the link is half-open); ioredis, or the Cluster, then reconnects.
 * @returns how many sockets were destroyed.
 */
export function replaceWaiting(redis: Redis, reason: Error): number {
  let destroyed = 0;
  for (const socket of socketsOf(redis)) {
    const { status, stream, commandQueue } = socket;
    if (status !== "ready" && status !== "connect") continue;
    if ((commandQueue?.length ?? 0) === 0 || stream === undefined || stream === null) continue;
    stream.destroy(reason);
    destroyed++;
  }
  return destroyed;
}

/**
 * Watches a connection: every socket of it (see {@link socketsOf}). Also tracks when Redis last sent
 * anything, which bounds the calls of a Client or Inspector ({@link Watchdog.lastHeardAt}).
 */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private readonly sockets = new Map<Observed, SocketWatch>();
  /** When watching started: "last heard" until a socket has been watched. */
  private readonly since = Date.now();

  constructor(
    private readonly redis: Redis,
    private readonly params: WatchdogParams,
  ) {}

  /** Starts sweeping (idempotent). The timer does not keep the process alive. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      for (const watch of this.watches()) watch.sweep();
    }, sweepInterval(this.params.stallMs));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** When Redis last sent anything on this connection, on any of its sockets (ms since the epoch). */
  lastHeardAt(): number {
    let heard = this.since;
    for (const watch of this.watches()) heard = Math.max(heard, watch.lastHeardAt());
    return heard;
  }

  /**
   * Destroys a socket now if it looks alive but is not answering (a failed health check), unless the
   * watchdog may not, or the socket was already replaced within the last `stallMs` (so a burst of
   * failures cannot make a reconnection storm). Of a Cluster, only the sockets with commands waiting
   * (the check's own command among them) are taken.
   * @returns whether a socket was destroyed.
   */
  reset(reason: Error): boolean {
    const watches = this.watches();
    const suspects = watches.length === 1 ? watches : watches.filter((w) => w.waiting());
    let destroyed = false;
    for (const watch of suspects) destroyed = watch.reset(reason) || destroyed;
    return destroyed;
  }

  /** The watch of each current socket; those of sockets gone are dropped. */
  private watches(): SocketWatch[] {
    const current = socketsOf(this.redis);
    const seen = new Set(current);
    for (const socket of this.sockets.keys()) if (!seen.has(socket)) this.sockets.delete(socket);
    return current.map((socket) => {
      let watch = this.sockets.get(socket);
      if (watch === undefined) this.sockets.set(socket, (watch = new SocketWatch(socket, this.params)));
      return watch;
    });
  }
}

/** The watch of one socket (one ioredis Redis object, whose `stream` is replaced on reconnection). */
class SocketWatch {
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
    private readonly socket: Observed,
    private readonly params: WatchdogParams,
  ) {}

  lastHeardAt(): number {
    this.sample();
    return this.heardAt;
  }

  /** Whether commands wait for replies on this socket. */
  waiting(): boolean {
    return (this.socket.commandQueue?.length ?? 0) > 0;
  }

  reset(reason: Error): boolean {
    const { status, stream } = this.socket;
    if (!this.params.destroy || (status !== "ready" && status !== "connect")) return false;
    if (stream === undefined || stream === null || stream === this.condemned) return false;
    if (Date.now() - this.lastResetAt < this.params.stallMs) return false;
    this.kill(stream, reason);
    return true;
  }

  /** Notes whether bytes arrived since the last look. */
  private sample(): boolean {
    const { stream } = this.socket;
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

  sweep(): void {
    const heard = this.sample();
    const { status, stream } = this.socket;
    // "connect" is the handshake (AUTH, SELECT, INFO): a silent one is as stuck as a silent "ready".
    const live = status === "ready" || status === "connect";
    if (heard || !this.waiting() || !live || stream === undefined || stream === null) {
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
    // The 'error' and 'close' events that follow make ioredis reconnect (a Cluster's node connection
    // ends instead, and the Cluster re-sends its commands through a new one), and re-send the commands
    // that were waiting (with the reconnect back-off of its retryStrategy).
    stream.destroy(reason);
  }
}
