// The JSON API beyond queues: servers and their workers, scheduler entries and their enqueue history,
// Redis's INFO, and the doctor's read-only audit. All reads: none of these routes mutates.
import { NotClusterError, type RedisNodeInfo } from "../index.js";
import { HttpError } from "./errors.js";
import type { DoctorRunner } from "./doctor.js";
import { jsonDate, schedulerEntryJson, serverJson } from "./json.js";
import type { DashboardInspector } from "./options.js";
import { bad, pageParams } from "./params.js";
import { getRoute as get, type Route } from "./router.js";

/** A queue name given to the doctor is at most this long (queue names are short; this bounds the SCAN pattern). */
const MAX_QUEUE_NAME = 1024;

/**
 * On a Redis Cluster, every master's INFO (by address): its keys, memory and load are split over them,
 * and `redisInfo` is the first master's alone. null on a single server (known without a round trip).
 */
async function clusterNodes(inspector: DashboardInspector): Promise<RedisNodeInfo[] | null> {
  try {
    return await inspector.clusterRedisInfo();
  } catch (error) {
    if (error instanceof NotClusterError) return null;
    throw error;
  }
}

/** The routes of servers, scheduler, Redis info and doctor. */
export function systemRoutes(inspector: DashboardInspector, doctor: DoctorRunner): Route[] {
  return [
    get("/api/servers", async () => ({
      servers: (await inspector.listServers()).map((s) => serverJson(s, false)),
    })),
    get("/api/servers/:id", async ({ params }) => {
      const server = (await inspector.listServers()).find((s) => s.serverId === params.id);
      if (server === undefined) {
        throw new HttpError(404, "ERR_SERVER_NOT_FOUND", "no live server has this ID");
      }
      return serverJson(server, true);
    }),
    get("/api/scheduler", async () => ({
      entries: (await inspector.listSchedulerEntries()).map(schedulerEntryJson),
      at: jsonDate(new Date()),
    })),
    // The history outlives its scheduler (asynq keeps it): an entry no scheduler lists any more still
    // has one, so an unknown entry is an empty history (entry null), not a 404.
    get("/api/scheduler/:entry/history", async ({ params, query }) => {
      const entryId = params.entry!;
      const { page, size } = pageParams(query);
      const [entries, events, next] = await Promise.all([
        inspector.listSchedulerEntries(),
        inspector.listSchedulerEnqueueEvents(entryId, { page, size }),
        // The first event of the next page, if any: the Inspector gives no count.
        inspector.listSchedulerEnqueueEvents(entryId, { page: page * size + 1, size: 1 }),
      ]);
      const entry = entries.find((e) => e.id === entryId);
      return {
        entry: entry === undefined ? null : schedulerEntryJson(entry),
        page,
        size,
        hasMore: next.length > 0,
        events: events.map((e) => ({ taskId: e.taskId, enqueuedAt: jsonDate(e.enqueuedAt) })),
      };
    }),
    get("/api/redis", async () => {
      const [info, nodes] = await Promise.all([inspector.redisInfo(), clusterNodes(inspector)]);
      return { info, nodes, at: jsonDate(new Date()) };
    }),
    get("/api/doctor", async ({ query }) => {
      const queue = query.get("queue") ?? undefined;
      if (queue !== undefined && (queue.trim() === "" || queue.length > MAX_QUEUE_NAME)) {
        throw bad(`queue must be a queue name of 1 to ${MAX_QUEUE_NAME} characters`);
      }
      return doctor.check(queue);
    }),
  ];
}
