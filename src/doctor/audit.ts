// Doctor's audit: one SCAN over the keyspace in batches, then each queue's containers, then the global registries.
import type { ContainerRef } from "../broker/doctor/port.js";
import { unixSeconds } from "../internal/clock.js";
import * as keys from "../wire/keys.js";
import { escapeGlob } from "./classify.js";
import { checkContainers } from "./containers.js";
import { emptyIfWrongType, queueState, type Context, type QueueState, type Settings } from "./context.js";
import { repair } from "./fix.js";
import { checkBatch } from "./keyspace.js";
import { IssueLog, type ContainerSizes, type DoctorReport, type QueueReport } from "./report.js";
import { checkListPartitions, confirmByPass } from "./lists.js";
import { checkDeferred } from "./orphans.js";

/**
 * Audits the asynq keys of a Redis (all of them, or only those of `only`'s queues, then without the
 * global checks), repairing what it finds when `settings.fix` is set.
 */
export async function audit(settings: Settings, only?: readonly string[]): Promise<DoctorReport> {
  const started = settings.clock.now();
  const registered = new Set(await settings.broker.setMembers(keys.ALL_QUEUES));
  const ctx: Context = {
    ...settings,
    registered,
    queues: new Map(),
    creating: new Map(),
    global: new IssueLog(settings.limit, settings.fix),
    only: only === undefined ? undefined : new Set(only),
  };
  for (const q of [...(only ?? registered)].sort()) await queueState(ctx, q);

  const patterns = only === undefined ? ["asynq:*"] : only.map((q) => `${escapeGlob(keys.queuePrefix(q))}*`);
  let scannedKeys = 0;
  for (const pattern of patterns) {
    // The next SCAN step is in flight while a batch is checked.
    let step = ctx.broker.scanKeys("0", pattern, ctx.batch);
    for (;;) {
      const [cursor, found] = await step;
      if (cursor !== "0") {
        step = ctx.broker.scanKeys(cursor, pattern, ctx.batch);
        // Awaited on the next turn; if checking this batch fails first, its failure is not unhandled.
        step.catch(() => undefined);
      }
      scannedKeys += found.length;
      await checkBatch(ctx, found);
      if (cursor === "0") break;
    }
  }

  const queues = [...ctx.queues.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const qs of queues) {
    await checkDeferred(ctx, qs);
    for (const list of [qs.pending, qs.active]) {
      await confirmByPass(ctx, qs, list);
      if (list.index.partitions > 1) await checkListPartitions(ctx, qs, list);
    }
    await checkContainers(ctx, qs);
  }
  if (only === undefined) {
    await checkUnregisteredQueues(ctx, queues);
    for (const registry of [keys.ALL_SERVERS, keys.ALL_WORKERS, keys.ALL_SCHEDULERS]) {
      await checkRegistry(ctx, registry);
    }
  }

  const reports: QueueReport[] = [];
  for (const qs of queues) reports.push(await queueReport(ctx, qs));
  const truncated = ctx.global.truncated || queues.some((qs) => qs.log.truncated);
  return {
    startedAt: new Date(started),
    elapsedMs: ctx.clock.now() - started,
    fix: ctx.fix,
    scannedKeys,
    queues: reports,
    global: ctx.global.issues,
    globalCounts: ctx.global.counts,
    clean: ctx.global.total() === 0 && queues.every((qs) => qs.log.total() === 0),
    truncated,
  };
}

/**
 * Queues with keys that are not in `asynq:queues`. Counters, `paused` and locks alone are what
 * asynq's RemoveQueue leaves behind (wire-format §9.9) and are not reported. The fix registers the queue,
 * which makes its tasks visible to the inspector again (nothing is deleted).
 */
async function checkUnregisteredQueues(ctx: Context, queues: readonly QueueState[]): Promise<void> {
  for (const qs of queues) {
    if (qs.registered || qs.substantiveKeys === 0) continue;
    await ctx.global.add(
      {
        kind: "unregistered-queue",
        queue: qs.name,
        key: keys.ALL_QUEUES,
        detail: `queue ${JSON.stringify(qs.name)} has ${qs.substantiveKeys} keys but is not in ${keys.ALL_QUEUES}`,
      },
      repair(`SADD ${keys.ALL_QUEUES} ${qs.name}`, () => ctx.broker.registerQueue(qs.name)),
    );
  }
}

/**
 * How long past its expiry a registry member may stay before it is reported. A process killed without
 * a shutdown leaves its members behind, an expected state: every live asynq-ts server prunes them
 * with its next heartbeat (every 5 s), and Go's listers when they read. One still there a minute
 * later means nothing pruned it (no live server): reported, and removed by a fix.
 */
const REGISTRY_GRACE_SECONDS = 60;

/** Members of a registry zset long past their expiry whose key is gone (see REGISTRY_GRACE_SECONDS). */
async function checkRegistry(ctx: Context, registry: string): Promise<void> {
  const now = unixSeconds(ctx.clock.now()) - REGISTRY_GRACE_SECONDS;
  let cursor = "0";
  do {
    // A registry of another type is reported as an unknown key and not read.
    const chunk = await ctx.broker.zsetChunk(registry, cursor, ctx.batch).catch(emptyIfWrongType);
    if (chunk.length === 0) return;
    const [next, members, scores] = chunk;
    cursor = next;
    const expired = members.flatMap((m, i) => (scores[i]! <= now ? [{ member: m, score: scores[i]! }] : []));
    const exists = await ctx.broker.existing(expired.map((e) => e.member));
    await Promise.all(
      expired.map((e, i) =>
        exists[i]
          ? Promise.resolve()
          : ctx.global.add(
              {
                kind: "expired-registry-entry",
                key: registry,
                detail: `${e.member} expired and its key is gone`,
              },
              repair(`ZREM ${registry} ${e.member}`, () =>
                ctx.broker.pruneRegistry(registry, e.member, e.score),
              ),
            ),
      ),
    );
  } while (cursor !== "0");
}

/** The figures of one queue, read after its checks (and repairs). */
async function queueReport(ctx: Context, qs: QueueState): Promise<QueueReport> {
  const q = qs.name;
  const zset = (key: string): ContainerRef => ({ key, type: "zset" });
  const groups = [...qs.groups].filter((g) => !qs.wrongType.has(keys.groupKey(q, g)));
  const sets = [...qs.sets.keys()].filter((k) => !qs.wrongType.has(k));
  const sizes = await ctx.broker.containerSizes([
    qs.pending.ref,
    qs.active.ref,
    ...[
      keys.leaseKey(q),
      keys.scheduledKey(q),
      keys.retryKey(q),
      keys.archivedKey(q),
      keys.completedKey(q),
      ...groups.map((g) => keys.groupKey(q, g)),
      ...sets,
    ].map(zset),
  ]);
  const [pending = 0, active = 0, lease = 0, scheduled = 0, retry = 0, archived = 0, completed = 0] = sizes;
  const groupSizes = sizes.slice(7, 7 + groups.length);
  const containers: ContainerSizes = {
    pending,
    active,
    lease,
    scheduled,
    retry,
    archived,
    completed,
    aggregating: groupSizes.reduce((a, b) => a + b, 0),
    groups: groupSizes.filter((n) => n > 0).length,
    aggregationSets: sizes.slice(7 + groups.length).filter((n) => n > 0).length,
  };
  const memoryBytes = await ctx.broker.memoryEstimate(q).catch(() => null);
  return {
    queue: q,
    registered: qs.registered,
    tasks: qs.tasks,
    quarantined: qs.quarantined,
    containers,
    memoryBytes,
    issues: qs.log.issues,
    counts: qs.log.counts,
  };
}
