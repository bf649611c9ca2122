// Test support: a loopback TCP proxy in front of a real Redis that misbehaves on command (reset,
// black hole, half-open, latency, lost replies), so tests can prove connection failures are loud, not stalls.
//
// Each client connection is paired with its own connection to Redis (a "link"). Both byte streams are
// read by the proxy, so a fault is applied per chunk, or per whole RESP reply for `dropReplies`: a small
// incremental RESP2/RESP3 scanner (`RespScanner`) finds where each reply ends in the server->client
// stream, and another one on the client->server stream tells which command each reply answers.
//
// What the proxy cannot imitate: a silent ("half-open") link is silent above TCP only. The proxy's kernel
// still ACKs the client's bytes and answers its TCP keepalive probes, so only an application-level
// timeout (a command timeout, a PING deadline) can detect it, which is the case these tests are for.
import { createConnection, createServer, type Server, type Socket } from "node:net";

/** Where the proxy forwards to: `{ host, port }`, or a `redis://host:port[/db]` URL (the DB is ignored). */
export type FaultProxyTarget = { host: string; port: number } | string;

/** Options of {@link FaultProxy.start}. */
export interface FaultProxyOptions {
  /** The Redis server every client connection is forwarded to. */
  target: FaultProxyTarget;
}

/** A command a client sent, as the proxy parsed it from the client->server stream. */
export interface RedisCommand {
  /** The command name, lower-cased (`"incr"`, `"evalsha"`). */
  name: string;
  /** The arguments after the name, decoded as UTF-8. */
  args: string[];
}

/** Options of {@link FaultProxy.dropReplies}. */
export interface DropRepliesOptions {
  /**
   * How many replies to drop (those `match` accepts) before the rule ends.
   * @defaultValue 1, or no limit when `durationMs` is given
   */
  count?: number;
  /** The rule ends after this many milliseconds, whatever the count. @defaultValue no limit */
  durationMs?: number;
  /**
   * Which replies to drop, by the command that produced them. Without it every reply is a candidate.
   * Replies the proxy cannot pair with a command (RESP3 pushes, pub/sub messages, an unparsable stream)
   * are never dropped by a rule with `match`.
   */
  match?: (command: RedisCommand) => boolean;
}

/** Bytes and chunks (socket writes, or swallowed pieces) in one direction. */
export interface TrafficCount {
  bytes: number;
  chunks: number;
}

/** What the proxy did since it started; {@link FaultProxy.stats} returns a copy. */
export interface FaultProxyStats {
  /** Client connections accepted. */
  accepted: number;
  /** Bytes written to the other side, per direction. */
  forwarded: { toServer: TrafficCount; toClient: TrafficCount };
  /** Bytes read and thrown away (silent links, lost replies, data queued on a link when it went silent). */
  swallowed: { toServer: TrafficCount; toClient: TrafficCount };
  /** Replies a `dropReplies` rule dropped (not counting those swallowed after them on the same link). */
  droppedReplies: number;
  /** Client connections reset (RST) by `cut()` or by the end of a `dropReplies` rule. */
  resets: number;
}

/**
 * A TCP proxy on `127.0.0.1:<free port>` in front of one Redis server, with switchable faults.
 *
 * Faults apply from the moment they are set; `heal()` ends them for new connections. Every method is
 * synchronous except `start` and `close`. Close it after the test (`await proxy.close()`).
 *
 * @example
 * const proxy = await FaultProxy.start({ target: testRedisUrl() });
 * const redis = new Redis(proxy.url(testDb()), { lazyConnect: true, commandTimeout: 200 });
 * await redis.connect();
 * proxy.halfOpen();
 * await expect(redis.ping()).rejects.toThrow(/timed out/);
 * await proxy.close();
 */
export class FaultProxy {
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #links = new Set<Link>();
  readonly #stats: FaultProxyStats = {
    accepted: 0,
    forwarded: { toServer: { bytes: 0, chunks: 0 }, toClient: { bytes: 0, chunks: 0 } },
    swallowed: { toServer: { bytes: 0, chunks: 0 }, toClient: { bytes: 0, chunks: 0 } },
    droppedReplies: 0,
    resets: 0,
  };
  #blackholed = false;
  #delayMs = 0;
  #rule: DropRule | undefined;
  #closed: Promise<void> | undefined;
  #port = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => this.#accept(client));
  }

  /** Starts a proxy on a free loopback port, forwarding normally until a fault is set. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(parseTarget(options.target));
    const server = proxy.#server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        const address = server.address();
        proxy.#port = typeof address === "object" && address !== null ? address.port : 0;
        resolve();
      });
    });
    return proxy;
  }

  /** The port the proxy listens on (loopback); kept after `close()`. */
  get port(): number {
    return this.#port;
  }

  /** `redis://127.0.0.1:<port>/<db>` (no default DB: tests never use DB 0). */
  url(db: number): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  /** Client connections currently open (silent ones included). */
  get connections(): number {
    return this.#links.size;
  }

  /** A copy of the counters. */
  get stats(): FaultProxyStats {
    return structuredClone(this.#stats);
  }

  /**
   * Resets every current connection: the client gets a TCP RST, the Redis side is closed, and data still
   * queued by `delay` is lost. New connections are not affected.
   *
   * An idle Node client sees ECONNRESET. One that receives data in the same poll as the RST sees a plain
   * 'end' instead (libuv takes a hang-up after a partial read as end of stream), so a test should assert
   * that the connection closed, not how, unless the connection was idle.
   * @returns how many client connections were reset
   */
  cut(): number {
    let n = 0;
    for (const link of [...this.#links]) if (this.#reset(link)) n++;
    return n;
  }

  /**
   * From now on: existing connections go silent (see {@link halfOpen}), and new connections are accepted
   * (the client's connect succeeds) but never reach Redis; everything the client sends is read and
   * swallowed. Lasts until `heal()`; the connections it silenced stay silent until cut or closed.
   */
  blackhole(): void {
    this.#blackholed = true;
    for (const link of this.#links) this.#silence(link);
  }

  /**
   * Silences every existing connection for good, as a NAT or load balancer that dropped the flow: the
   * client's socket stays ESTABLISHED and its writes succeed (the proxy reads and swallows them), but
   * nothing ever comes back, not even a FIN or RST when Redis closes its side. Nothing reaches Redis either.
   * New connections work normally. A silenced connection ends only by `cut()`, `close()`, or the client
   * destroying it (the proxy then closes its Redis side, which a real half-open link would not).
   */
  halfOpen(): void {
    for (const link of this.#links) this.#silence(link);
  }

  /**
   * Holds every chunk read from now on, in both directions and on every connection, for `ms` milliseconds
   * before writing it on. Order is kept, also when the delay changes. `delay(0)` ends it for new chunks.
   */
  delay(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms))
      throw new RangeError(`delay: ms must be a finite number ≥ 0, got ${ms}`);
    this.#delayMs = ms;
  }

  /**
   * Arms a "lost reply" rule, replacing any earlier one (whose connections are reset at once).
   *
   * While the rule is armed, a whole RESP reply it accepts is swallowed: Redis ran the command, the client
   * never sees the answer. That connection is then "lost": everything else Redis sends on it is swallowed
   * too (had it been forwarded, the client would pair the next reply with the wrong command), while the
   * client's further commands still reach Redis. When the rule ends (after `count` drops, after
   * `durationMs`, or by `heal()`, `close()` or a new rule), every lost connection is reset (RST to the
   * client, see {@link cut}). So by default (`count` 1) the connection is reset as soon as the reply is
   * dropped; with `durationMs`, the client sees silence until then. With `count` > 1 and no `durationMs`, a
   * lost connection stays silent until other drops reach the count: give a `durationMs` to bound that.
   *
   * Pairing a reply with its command assumes one reply per command, in order: not for connections in
   * pub/sub, MONITOR or `CLIENT REPLY OFF|SKIP`.
   */
  dropReplies(options: DropRepliesOptions = {}): void {
    const { durationMs, match } = options;
    const count = options.count ?? (durationMs === undefined ? 1 : Infinity);
    if (!(count >= 1)) throw new RangeError(`dropReplies: count must be ≥ 1, got ${count}`);
    if (durationMs !== undefined && !(durationMs >= 0)) {
      throw new RangeError(`dropReplies: durationMs must be ≥ 0, got ${durationMs}`);
    }
    this.#disarm();
    const rule: DropRule = { remaining: count, match, links: new Set(), timer: undefined };
    if (durationMs !== undefined) {
      rule.timer = setTimeout(() => this.#disarm(rule), durationMs);
      rule.timer.unref();
    }
    this.#rule = rule;
  }

  /**
   * Back to normal for new connections and new chunks: no black hole, no delay, no `dropReplies` rule (its
   * lost connections are reset). Connections already silenced stay silent until cut or closed.
   */
  heal(): void {
    this.#blackholed = false;
    this.#delayMs = 0;
    this.#disarm();
  }

  /**
   * Stops listening (new connections are refused) and closes every socket, client and Redis side, then
   * resolves once they are all closed. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed ??= (async () => {
      const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#disarm();
      const links = [...this.#links];
      this.#links.clear();
      for (const link of links) {
        link.discard();
        link.client.destroy();
        link.upstream?.destroy();
      }
      await Promise.all([serverClosed, ...links.map((link) => link.closed())]);
    })();
    return this.#closed;
  }

  #accept(client: Socket): void {
    this.#stats.accepted++;
    client.on("error", () => {});
    if (this.#closed !== undefined) {
      client.destroy();
      return;
    }
    const link = new Link(client, this.#stats);
    this.#links.add(link);
    client.once("close", () => {
      this.#links.delete(link);
      link.discard();
      link.upstream?.destroy();
    });
    client.on("data", (chunk: Buffer) => this.#fromClient(link, chunk));
    client.on("end", () => {
      if (!link.silent) link.toServer?.send(null, this.#delayMs);
    });
    if (this.#blackholed) {
      link.silent = true;
      return;
    }
    const upstream = createConnection({ ...this.#target, allowHalfOpen: true, noDelay: true });
    link.attach(upstream);
    upstream.on("error", () => {});
    upstream.on("data", (chunk: Buffer) => this.#fromServer(link, chunk));
    upstream.on("end", () => {
      link.upstreamEnded = true;
      if (!link.silent && !link.lost) link.toClient?.send(null, this.#delayMs);
    });
    upstream.once("close", () => {
      // Redis went away without a FIN (refused, reset): pass that on as a reset. A silent link passes nothing.
      if (!link.silent && !link.upstreamEnded) this.#reset(link);
    });
  }

  #fromClient(link: Link, chunk: Buffer): void {
    if (link.silent || link.toServer === undefined) {
      count(this.#stats.swallowed.toServer, chunk.length);
      return;
    }
    for (const values of link.requests.feed(chunk).values) link.commands.push(toCommand(values));
    link.toServer.send(chunk, this.#delayMs);
  }

  #fromServer(link: Link, chunk: Buffer): void {
    if (link.silent || link.toClient === undefined) {
      count(this.#stats.swallowed.toClient, chunk.length);
      return;
    }
    const { ends } = link.replies.feed(chunk);
    if (link.replies.broken) {
      // Not RESP as far as the scanner can tell: no reply boundaries, so each chunk is one unit.
      link.inReply = false;
      this.#piece(link, chunk, true);
    } else {
      let start = 0;
      for (const end of ends) {
        this.#piece(link, chunk.subarray(start, end), true);
        start = end;
      }
      if (start < chunk.length) this.#piece(link, chunk.subarray(start), false);
    }
    const rule = this.#rule;
    if (rule !== undefined && rule.remaining <= 0) this.#disarm(rule);
  }

  /** Forwards or swallows one piece of a reply; `last` if the reply ends with it. */
  #piece(link: Link, piece: Buffer, last: boolean): void {
    if (!link.inReply) link.dropping = this.#decide(link, piece[0]);
    link.inReply = !last;
    if (link.dropping || link.lost) count(this.#stats.swallowed.toClient, piece.length);
    else link.toClient?.send(piece, this.#delayMs);
  }

  /** Decides, at the first byte of a reply, whether to drop it; pairs it with its command. */
  #decide(link: Link, firstByte: number | undefined): boolean {
    const opaque = link.replies.broken;
    const push = firstByte === PUSH;
    const command = push || opaque ? undefined : link.commands.shift();
    const rule = this.#rule;
    if (link.lost || rule === undefined || rule.remaining <= 0 || push) return false;
    if (rule.match !== undefined && (command === undefined || !rule.match(command))) return false;
    rule.remaining--;
    rule.links.add(link);
    link.lost = true;
    this.#stats.droppedReplies++;
    return true;
  }

  /** Ends `rule` (the current one by default) and resets the connections it made lose a reply. */
  #disarm(rule = this.#rule): void {
    if (rule === undefined || rule !== this.#rule) return;
    this.#rule = undefined;
    clearTimeout(rule.timer);
    for (const link of rule.links) this.#reset(link);
  }

  #silence(link: Link): void {
    if (link.silent) return;
    link.silent = true;
    link.discard();
    // Keep reading both sides (a paused side would wait for a 'drain' that may never come).
    link.client.resume();
    link.upstream?.resume();
  }

  /** RST to the client, close the Redis side. @returns whether the client socket was still open */
  #reset(link: Link): boolean {
    this.#links.delete(link);
    link.discard();
    link.upstream?.destroy();
    if (link.client.destroyed) return false;
    this.#stats.resets++;
    link.client.resetAndDestroy();
    return true;
  }
}

/** The first byte of a RESP3 push (`>`), which answers no command. */
const PUSH = 0x3e;

interface DropRule {
  remaining: number;
  match: ((command: RedisCommand) => boolean) | undefined;
  /** Connections that lost a reply to this rule, reset when it ends. */
  links: Set<Link>;
  timer: NodeJS.Timeout | undefined;
}

/** A client connection, its Redis connection, and the state of the faults on them. */
class Link {
  upstream: Socket | undefined;
  toServer: Lane | undefined;
  toClient: Lane | undefined;
  /** Reads and swallows both ways, forever. */
  silent = false;
  /** Lost a reply: swallows server->client until a reset. */
  lost = false;
  upstreamEnded = false;
  /** Between the first and last byte of a reply. */
  inReply = false;
  /** Whether the current reply is being dropped. */
  dropping = false;
  /** Commands sent whose replies have not started yet, oldest first. */
  readonly commands: RedisCommand[] = [];
  readonly requests = new RespScanner({ values: true });
  readonly replies = new RespScanner();
  /** Settle when the sockets emit 'close' (listened to from the start, so never missed). */
  readonly #closes: Array<Promise<unknown>> = [];

  constructor(
    readonly client: Socket,
    private readonly stats: FaultProxyStats,
  ) {
    this.#closes.push(closeOf(client));
  }

  /** Resolves once both sockets are closed. */
  async closed(): Promise<void> {
    await Promise.all(this.#closes);
  }

  attach(upstream: Socket): void {
    this.upstream = upstream;
    this.#closes.push(closeOf(upstream));
    this.toServer = new Lane(this.client, upstream, this.stats.forwarded.toServer);
    this.toClient = new Lane(upstream, this.client, this.stats.forwarded.toClient);
  }

  /** Drops what `delay` still holds (counted as swallowed). */
  discard(): void {
    const toServer = this.toServer?.clear();
    const toClient = this.toClient?.clear();
    if (toServer) add(this.stats.swallowed.toServer, toServer);
    if (toClient) add(this.stats.swallowed.toClient, toClient);
  }
}

/** One direction of a link: writes chunks to `dest` now or after a delay, in order, with backpressure. */
class Lane {
  #queue: Array<{ data: Buffer | null; due: number }> = [];
  #timer: NodeJS.Timeout | undefined;
  #lastDue = 0;
  #waitingDrain = false;

  constructor(
    private readonly source: Socket,
    private readonly dest: Socket,
    private readonly forwarded: TrafficCount,
  ) {}

  /** Writes `data` (or, for `null`, ends `dest`) after `delayMs`, and never before earlier data. */
  send(data: Buffer | null, delayMs: number): void {
    if (this.#queue.length === 0 && delayMs <= 0) {
      this.#write(data);
      return;
    }
    const due = Math.max(performance.now() + delayMs, this.#lastDue);
    this.#lastDue = due;
    this.#queue.push({ data, due });
    this.#arm();
  }

  /** Forgets queued data. @returns what was forgotten */
  clear(): TrafficCount {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const dropped = { bytes: 0, chunks: 0 };
    for (const { data } of this.#queue) if (data !== null) count(dropped, data.length);
    this.#queue = [];
    return dropped;
  }

  #arm(): void {
    const head = this.#queue[0];
    if (this.#timer !== undefined || head === undefined) return;
    this.#timer = setTimeout(() => this.#pump(), Math.max(0, Math.ceil(head.due - performance.now())));
  }

  #pump(): void {
    this.#timer = undefined;
    const now = performance.now();
    while (this.#queue[0] !== undefined && this.#queue[0].due <= now) this.#write(this.#queue.shift()!.data);
    this.#arm();
  }

  #write(data: Buffer | null): void {
    if (this.dest.destroyed || this.dest.writableEnded) return;
    if (data === null) {
      this.dest.end();
      return;
    }
    count(this.forwarded, data.length);
    if (!this.dest.write(data) && !this.#waitingDrain) {
      this.#waitingDrain = true;
      this.source.pause();
      this.dest.once("drain", () => {
        this.#waitingDrain = false;
        this.source.resume();
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// RESP scanning

/** What {@link RespScanner.feed} found in one chunk. */
export interface RespScan {
  /** Offsets in the chunk just after each top-level value that ended in it. */
  ends: number[];
  /** With `{ values: true }`: the scalar values of each top-level value that ended, flattened. */
  values: string[][];
}

/**
 * Finds where top-level RESP2/RESP3 values end in a byte stream fed chunk by chunk (a value may span any
 * number of chunks). Knows simple strings, errors, integers, bulk strings, arrays and nulls, and the RESP3
 * types (null, boolean, double, big number, bulk error, verbatim string, map, set, attribute, push). An
 * attribute and the value it annotates count as one value. Streamed strings and aggregates (`$?`, `*?`),
 * which Redis never sends, make the scanner {@link broken}, as does anything that is not RESP; a broken
 * scanner finds nothing more. With `{ values: true }` (for requests) it also collects the scalar values,
 * and takes a line that does not start with a RESP type as an inline command (split at spaces).
 */
export class RespScanner {
  readonly #collect: boolean;
  /** Bytes of a header line not yet ended by `\n`. */
  #line: Buffer[] = [];
  #lineLength = 0;
  /** Bulk payload bytes plus CRLF still to come; 0 when a header line is next. */
  #skip = 0;
  #bulk: Buffer[] = [];
  /** For each open aggregate, the elements it still expects, innermost last. */
  #stack: number[] = [];
  #values: string[] = [];
  #broken = false;

  constructor(options: { values?: boolean } = {}) {
    this.#collect = options.values ?? false;
  }

  /** Whether the stream stopped making sense as RESP. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Scans the next chunk of the stream. */
  feed(chunk: Buffer): RespScan {
    const scan: RespScan = { ends: [], values: [] };
    let i = 0;
    while (i < chunk.length && !this.#broken) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        if (this.#collect) this.#bulk.push(chunk.subarray(i, i + n));
        i += n;
        this.#skip -= n;
        if (this.#skip === 0) {
          if (this.#collect) {
            const bulk = Buffer.concat(this.#bulk);
            this.#bulk = [];
            this.#values.push(bulk.toString("utf8", 0, bulk.length - 2));
          }
          this.#element(scan, i);
        }
        continue;
      }
      const newline = chunk.indexOf(0x0a, i);
      const stop = newline === -1 ? chunk.length : newline + 1;
      this.#line.push(chunk.subarray(i, stop));
      this.#lineLength += stop - i;
      i = stop;
      if (newline === -1) {
        if (this.#lineLength > MAX_LINE) this.#broken = true;
        continue;
      }
      const line = Buffer.concat(this.#line, this.#lineLength);
      this.#line = [];
      this.#lineLength = 0;
      this.#header(line.toString("utf8", 0, line.length - (line[line.length - 2] === 0x0d ? 2 : 1)), scan, i);
    }
    return scan;
  }

  /** Handles a header line (without its line end) that ended at offset `at`. */
  #header(line: string, scan: RespScan, at: number): void {
    const type = line[0];
    const rest = line.slice(1);
    switch (type) {
      case "+":
      case "-":
      case ":":
      case "_":
      case "#":
      case ",":
      case "(":
        if (this.#collect) this.#values.push(rest);
        this.#element(scan, at);
        return;
      case "$":
      case "!":
      case "=": {
        const n = this.#length(rest);
        if (n === undefined) return;
        if (n < 0) this.#element(scan, at);
        else this.#skip = n + 2;
        return;
      }
      case "*":
      case "~":
      case ">":
      case "%":
      case "|": {
        const n = this.#length(rest);
        if (n === undefined) return;
        // A map holds pairs; an attribute holds pairs and then the value it annotates.
        const elements = type === "%" ? 2 * n : type === "|" ? 2 * n + 1 : n;
        if (elements <= 0) this.#element(scan, at);
        else this.#stack.push(elements);
        return;
      }
      default:
        if (this.#collect && this.#stack.length === 0) {
          // An inline command (`PING\r\n`); an empty line is ignored, as Redis does.
          const words = line.split(" ").filter((w) => w.length > 0);
          if (words.length > 0) {
            scan.values.push(words);
            scan.ends.push(at);
          }
          return;
        }
        this.#broken = true;
    }
  }

  #length(text: string): number | undefined {
    const n = /^-?\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n)) this.#broken = true;
    return this.#broken ? undefined : n;
  }

  /** A value ended at offset `at`: count it in its aggregates, and report a top-level value. */
  #element(scan: RespScan, at: number): void {
    for (;;) {
      const depth = this.#stack.length;
      if (depth === 0) break;
      const left = this.#stack[depth - 1]! - 1;
      if (left > 0) {
        this.#stack[depth - 1] = left;
        return;
      }
      this.#stack.pop();
    }
    scan.ends.push(at);
    if (this.#collect) {
      scan.values.push(this.#values);
      this.#values = [];
    }
  }
}

/** A header line longer than this is taken as "not RESP" (Redis caps inline commands at 64 KiB). */
const MAX_LINE = 1 << 20;

function toCommand(values: string[]): RedisCommand {
  return { name: (values[0] ?? "").toLowerCase(), args: values.slice(1) };
}

/** Settles on the socket's 'close' (unlike `events.once`, an 'error' before it does not reject). */
function closeOf(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

function count(into: TrafficCount, bytes: number): void {
  into.bytes += bytes;
  into.chunks++;
}

function add(into: TrafficCount, more: TrafficCount): void {
  into.bytes += more.bytes;
  into.chunks += more.chunks;
}

function parseTarget(target: FaultProxyTarget): { host: string; port: number } {
  if (typeof target !== "string") return { host: target.host, port: target.port };
  const url = new URL(target);
  return { host: url.hostname, port: Number(url.port || 6379) };
}
