// The JSON API: one route per Inspector call the dashboard makes. Input is checked here or by the
// Inspector (its ValidationError is a 400); see errors.ts for the statuses of the other errors.
import { QueueNotFoundError, type TaskState } from "../index.js";
import { HttpError } from "./errors.js";
import { jsonDate, queueJson, schedulerEntryJson, serverJson, taskJson } from "./json.js";
import type { DashboardInspector } from "./options.js";
import type { Route, RouteInput } from "./router.js";

/** Task states, in the order the page shows them. */
export const STATES: readonly TaskState[] = [
  "active",
  "pending",
  "aggregating",
  "scheduled",
  "retry",
  "archived",
  "completed",
];

/** Page sizes the API accepts. */
export const MAX_PAGE_SIZE = 100;
const MAX_BATCH = 1000;
const MAX_HISTORY_DAYS = 90;

function bad(message: string): HttpError {
  return new HttpError(400, "ERR_VALIDATION", message);
}

/** An integer query parameter in [min, max], or `fallback` when absent. */
function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null || raw === "") return fallback;
  if (!/^\d{1,9}$/.test(raw)) throw bad(`${name} must be an integer from ${min} to ${max}`);
  const value = Number(raw);
  if (value < min || value > max) throw bad(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

function stateParam(value: string | null | undefined): TaskState {
  if (value === null || value === undefined || !(STATES as readonly string[]).includes(value)) {
    throw bad(`state must be one of ${STATES.join(", ")}`);
  }
  return value as TaskState;
}

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
  const get = (path: string, handle: (input: RouteInput) => Promise<unknown>): Route => ({
    method: "GET",
    path,
    mutating: false,
    handle: async (input) => ({ body: await handle(input) }),
  });
  const post = (path: string, handle: (input: RouteInput) => Promise<unknown>): Route => ({
    method: "POST",
    path,
    mutating: true,
    handle: async (input) => {
      const body = await handle(input);
      return body === undefined ? { status: 204 } : { body };
    },
  });

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
    get("/api/queues/:queue/tasks", async ({ params, query }) => {
      const queue = params.queue!;
      const state = stateParam(query.get("state") ?? "pending");
      const page = intParam(query, "page", 1, 1, 1_000_000);
      const size = intParam(query, "size", 20, 1, MAX_PAGE_SIZE);
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
    get("/api/servers", async () => ({ servers: (await inspector.listServers()).map(serverJson) })),
    get("/api/scheduler", async () => ({
      entries: (await inspector.listSchedulerEntries()).map(schedulerEntryJson),
      at: jsonDate(new Date()),
    })),

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
