// The JSON API of queues and tasks: one route per Inspector call the dashboard makes (api-system.ts has
// servers, scheduler, Redis and doctor). Input is checked here or by the Inspector (its
// ValidationError is a 400); see errors.ts for the statuses of the other errors.
import { QueueNotFoundError } from "../index.js";
import { HttpError } from "./errors.js";
import { queueJson, taskJson } from "./json.js";
import type { DashboardInspector } from "./options.js";
import { bad, intParam, pageParams, stateParam } from "./params.js";
import { getRoute as get, postRoute as post, type Route } from "./router.js";

const MAX_BATCH = 1000;
const MAX_HISTORY_DAYS = 90;

function idsBody(body: unknown): string[] {
  const ids = (body as { ids?: unknown } | null)?.ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_BATCH) {
    throw bad(`the body must be { "ids": [...] } with 1 to ${MAX_BATCH} task IDs`);
  }
  if (!ids.every((id): id is string => typeof id === "string")) throw bad("every ID must be a string");
  return ids;
}

type Action = "run" | "archive" | "delete";

function actionParam(value: string | undefined): Action {
  if (value !== "run" && value !== "archive" && value !== "delete") {
    throw new HttpError(404, "ERR_NOT_FOUND", "the action must be run, archive or delete");
  }
  return value;
}

async function mustExist(inspector: DashboardInspector, queue: string): Promise<void> {
  if (!(await inspector.queues()).includes(queue)) {
    throw new QueueNotFoundError(queue, { op: "dashboard.queue" });
  }
}

/** The API routes over an Inspector; `meta` is the answer of GET /api/meta. */
export function apiRoutes(inspector: DashboardInspector, meta: () => Record<string, unknown>): Route[] {
  return [
    get("/api/meta", () => Promise.resolve(meta())),
    get("/api/queues", async () => ({ queues: (await inspector.getQueueInfos()).map(queueJson) })),
    get("/api/queues/:queue", async ({ params }) => queueJson(await inspector.getQueueInfo(params.queue!))),
    get("/api/queues/:queue/history", async ({ params, query }) => {
      const days = intParam(query, "days", 7, 1, MAX_HISTORY_DAYS);
      const history = await inspector.history(params.queue!, days);
      return { history: history.map((d) => ({ date: d.date, processed: d.processed, failed: d.failed })) };
    }),
    get("/api/queues/:queue/groups", async ({ params }) => ({
      groups: await inspector.listGroups(params.queue!),
    })),
    // A group exists while it holds tasks: one that emptied (or never was) lists no task, not a 404.
    get("/api/queues/:queue/groups/:group", async ({ params, query }) => {
      const { queue, group } = params as { queue: string; group: string };
      const { page, size } = pageParams(query);
      const [groups, listed] = await Promise.all([
        inspector.listGroups(queue),
        inspector.listTaskPage(queue, "aggregating", { page, size, group }),
      ]);
      return {
        queue,
        group,
        page,
        size,
        total: groups.find((g) => g.group === group)?.size ?? 0,
        tasks: listed.tasks.map((t) => taskJson(t, false)),
        corrupt: listed.corrupt.length,
      };
    }),
    get("/api/queues/:queue/tasks", async ({ params, query }) => {
      const queue = params.queue!;
      const state = stateParam(query.get("state") ?? "pending");
      const { page, size } = pageParams(query);
      const group = query.get("group") ?? undefined;
      if (state === "aggregating" && (group === undefined || group === "")) {
        throw bad("listing aggregating tasks needs a group");
      }
      const [info, listed, groups] = await Promise.all([
        inspector.getQueueInfo(queue),
        inspector.listTaskPage(queue, state, { page, size, ...(group === undefined ? {} : { group }) }),
        state === "aggregating" ? inspector.listGroups(queue) : Promise.resolve([]),
      ]);
      const total =
        state === "aggregating" ? (groups.find((g) => g.group === group)?.size ?? 0) : info[state];
      return {
        queue: queueJson(info),
        state,
        page,
        size,
        total,
        tasks: listed.tasks.map((t) => taskJson(t, false)),
        corrupt: listed.corrupt.length,
      };
    }),
    get("/api/queues/:queue/tasks/:id", async ({ params }) =>
      taskJson(await inspector.getTaskInfo(params.queue!, params.id!)),
    ),

    // The Inspector pauses a queue by name, registered or not (as asynq): an unknown one is a 404 here.
    post("/api/queues/:queue/pause", async ({ params }) => {
      await mustExist(inspector, params.queue!);
      await inspector.pauseQueue(params.queue!);
    }),
    post("/api/queues/:queue/resume", async ({ params }) => {
      await mustExist(inspector, params.queue!);
      await inspector.unpauseQueue(params.queue!);
    }),
    post("/api/queues/:queue/tasks/:id/cancel", async ({ params }) => ({
      servers: await inspector.cancelProcessing(params.id!),
    })),
    post("/api/queues/:queue/tasks/:id/:action", async ({ params }) => {
      const action = actionParam(params.action);
      const queue = params.queue!;
      const id = params.id!;
      if (action === "run") await inspector.runTask(queue, id);
      else if (action === "archive") await inspector.archiveTask(queue, id);
      else await inspector.deleteTask(queue, id);
    }),
    post("/api/queues/:queue/batch/:action", async ({ params, body }) => {
      const action = actionParam(params.action);
      const ids = idsBody(body);
      const queue = params.queue!;
      const results =
        action === "run"
          ? await inspector.runTasks(queue, ids)
          : action === "archive"
            ? await inspector.archiveTasks(queue, ids)
            : await inspector.deleteTasks(queue, ids);
      return {
        results: results.map((r) => ({ id: r.id, ok: r.ok, ...(r.ok ? {} : { error: r.error.message }) })),
      };
    }),
    post("/api/queues/:queue/all/:action", async ({ params, query }) => {
      const action = actionParam(params.action);
      const queue = params.queue!;
      const state = stateParam(query.get("state"));
      const group = query.get("group") ?? undefined;
      const count =
        action === "run"
          ? await inspector.runAllTasks(queue, state, group)
          : action === "archive"
            ? await inspector.archiveAllTasks(queue, state, group)
            : await inspector.deleteAllTasks(queue, state, group);
      return { count };
    }),
  ];
}
