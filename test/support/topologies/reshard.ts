// Moves one hash slot of a running Redis Cluster to another master the way `redis-cli --cluster
// reshard` does, but by hand and slowly, so that a test's load overlaps the migration: the target is
// set IMPORTING and the source MIGRATING, the slot's keys go over in small MIGRATE batches with pauses
// between them (meanwhile the source answers ASK for keys it no longer has, and both nodes TRYAGAIN
// for commands whose keys are split or not all there), and finally every master is told the new owner.
//
// While the slot is MIGRATING no key of it can be created on the source (a command on a missing key is
// sent on with ASK), so the keys left there only shrink, and the loop ends once CLUSTER GETKEYSINSLOT
// comes back empty.
import { Redis, type RedisOptions } from "ioredis";

/** One master of the cluster, as CLUSTER NODES lists it. */
export interface ClusterMaster {
  id: string;
  /** `host:port` */
  addr: string;
}

/** How {@link moveSlot} paces the migration. */
export interface MovePace {
  /** Keys per MIGRATE call. */
  batchSize: number;
  /** Pause after each batch (ms): the window in which the load meets the half-moved slot. */
  pauseMs: number;
  /** Called after each batch with the names of the keys it moved. */
  onBatch?: (moved: readonly string[]) => void;
}

/** What a move did. */
export interface MoveReport {
  slot: number;
  from: ClusterMaster;
  to: ClusterMaster;
  /** Number of MIGRATE calls. */
  batches: number;
  /** Keys moved. */
  keys: number;
  /** How long the slot was half-moved (IMPORTING/MIGRATING set until the last SETSLOT NODE), ms. */
  openMs: number;
}

/** Talks to the masters of one cluster by address (with the node options of the test's URL). */
export class SlotMover {
  private readonly connections = new Map<string, Redis>();

  /**
   * @param seed any node of the cluster, `host:port`
   * @param nodeOptions ioredis options for every node (credentials, TLS)
   */
  constructor(
    private readonly seed: string,
    private readonly nodeOptions: RedisOptions = {},
  ) {}

  /** The masters that serve slots (failed ones left out), and which of them serves `slot`. */
  async masters(slot: number): Promise<{ masters: ClusterMaster[]; owner: ClusterMaster }> {
    const nodes = await this.clusterNodes(this.seed);
    const masters = nodes.filter((n) => n.master && !n.failed && n.ranges.length > 0);
    const owner = masters.find((n) => serves(n, slot));
    if (owner === undefined) throw new Error(`no master serves slot ${slot}`);
    return {
      masters: masters.map(({ id, addr }) => ({ id, addr })),
      owner: { id: owner.id, addr: owner.addr },
    };
  }

  /** CLUSTER KEYSLOT of `key`. */
  async keySlot(key: string): Promise<number> {
    return Number(await this.node(this.seed).call("CLUSTER", "KEYSLOT", key));
  }

  /** CLUSTER COUNTKEYSINSLOT on one master. */
  async countKeys(addr: string, slot: number): Promise<number> {
    return Number(await this.node(addr).call("CLUSTER", "COUNTKEYSINSLOT", slot));
  }

  /** INFO errorstats of one master as `{ ASK: n, TRYAGAIN: n, MOVED: n, … }`. */
  async errorStats(addr: string): Promise<Record<string, number>> {
    const text = String(await this.node(addr).call("INFO", "errorstats"));
    const stats: Record<string, number> = {};
    for (const match of text.matchAll(/^errorstat_([^:]+):count=(\d+)/gm))
      stats[match[1]!] = Number(match[2]);
    return stats;
  }

  /**
   * Moves `slot` from its master to `to`, `pace.batchSize` keys at a time.
   * @throws Error when a step fails (the slot is then left half-moved: see {@link settle}).
   */
  async move(slot: number, to: ClusterMaster, pace: MovePace): Promise<MoveReport> {
    const { masters, owner: from } = await this.masters(slot);
    if (from.id === to.id) return { slot, from, to, batches: 0, keys: 0, openMs: 0 };
    const source = this.node(from.addr);
    const target = this.node(to.addr);
    const openedAt = Date.now();
    // The order redis-cli uses: the target imports before the source starts sending clients there.
    await target.call("CLUSTER", "SETSLOT", slot, "IMPORTING", from.id);
    await source.call("CLUSTER", "SETSLOT", slot, "MIGRATING", to.id);
    const [host, port] = splitAddr(to.addr);
    let batches = 0;
    let moved = 0;
    for (;;) {
      const keys = (await source.callBuffer("CLUSTER", "GETKEYSINSLOT", slot, pace.batchSize)) as Buffer[];
      if (keys.length === 0) break;
      await source.callBuffer("MIGRATE", host, port, "", 0, 5000, ...this.auth(), "KEYS", ...keys);
      batches++;
      moved += keys.length;
      pace.onBatch?.(keys.map((key) => key.toString("utf8")));
      if (pace.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pace.pauseMs));
    }
    // The target first (it then answers without ASKING), the source next, then the others.
    await this.assign(slot, to, [to, from, ...masters.filter((m) => m.id !== to.id && m.id !== from.id)]);
    return { slot, from, to, batches, keys: moved, openMs: Date.now() - openedAt };
  }

  /**
   * Ends a move that failed half-way: every master is told `owner` serves the slot (which also clears
   * IMPORTING and MIGRATING). Keys already moved elsewhere are orphaned until the next flush.
   */
  async settle(slot: number, owner: ClusterMaster): Promise<void> {
    const { masters } = await this.masters(slot);
    await this.assign(slot, owner, masters);
  }

  /** Closes the connections. */
  close(): void {
    for (const redis of this.connections.values()) redis.disconnect();
    this.connections.clear();
  }

  /** CLUSTER SETSLOT <slot> NODE <owner> on each of `nodes`, in order, then waits for all to agree. */
  private async assign(slot: number, owner: ClusterMaster, nodes: readonly ClusterMaster[]): Promise<void> {
    for (const node of nodes) await this.node(node.addr).call("CLUSTER", "SETSLOT", slot, "NODE", owner.id);
    for (let i = 0; ; i++) {
      const views = await Promise.all(nodes.map((n) => this.viewFrom(n.addr, slot)));
      if (views.every((id) => id === owner.id)) return;
      if (i >= 100) throw new Error(`the masters do not agree that ${owner.addr} serves slot ${slot}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The ID of the master that serves `slot` in `addr`'s view. */
  private async viewFrom(addr: string, slot: number): Promise<string | undefined> {
    return (await this.clusterNodes(addr)).find((n) => serves(n, slot))?.id;
  }

  /** CLUSTER NODES of one node, parsed. */
  private async clusterNodes(addr: string): Promise<NodeLine[]> {
    const text = String(await this.node(addr).call("CLUSTER", "NODES"));
    return text
      .trim()
      .split("\n")
      .map((line) => {
        const [id = "", address = "", flags = "", , , , , , ...ranges] = line.split(" ");
        const flagList = flags.split(",");
        return {
          id,
          addr: address.split("@")[0]!,
          master: flagList.includes("master"),
          failed: flagList.includes("fail"),
          ranges,
        };
      });
  }

  /** MIGRATE's AUTH / AUTH2 arguments for the node options' credentials. */
  private auth(): string[] {
    const { username, password } = this.nodeOptions;
    if (password === undefined) return [];
    return username === undefined ? ["AUTH", password] : ["AUTH2", username, password];
  }

  private node(addr: string): Redis {
    let redis = this.connections.get(addr);
    if (redis === undefined) {
      const [host, port] = splitAddr(addr);
      redis = new Redis({ ...this.nodeOptions, host, port, maxRetriesPerRequest: 1 });
      redis.on("error", () => {});
      this.connections.set(addr, redis);
    }
    return redis;
  }
}

/** One line of CLUSTER NODES. */
interface NodeLine extends ClusterMaster {
  master: boolean;
  failed: boolean;
  /** Slot fields: `5461-10922`, `42`, or an open migration `[42->-<id>]` / `[42-<-<id>]`. */
  ranges: string[];
}

/** Whether a master serves `slot` (an open migration's field does not count). */
function serves(node: NodeLine, slot: number): boolean {
  return (
    node.master &&
    node.ranges.some((range) => {
      if (range.startsWith("[")) return false;
      const [low, high = low] = range.split("-").map(Number);
      return low !== undefined && high !== undefined && slot >= low && slot <= high;
    })
  );
}

function splitAddr(addr: string): [string, number] {
  const at = addr.lastIndexOf(":");
  return [addr.slice(0, at), Number(addr.slice(at + 1))];
}
