// The servers (Go's and ours, as their heartbeats list them) and their active workers: a table of
// servers and one of every active worker, and a page per server. A worker shows up at its server's
// heartbeat after its task started (every 5 s by default).
import { get } from "./api.js";
import { taskHref } from "./controls.js";
import { bytesView, formatDate, formatNumber, h } from "./dom.js";

const serverHref = (id) => `#/servers/${encodeURIComponent(id)}`;
const queuesText = (queues) =>
  Object.entries(queues)
    .map(([q, p]) => `${q}:${p}`)
    .join(" ");

function table(id, headers, rows) {
  return h(
    "table",
    { id, class: headers.length === 0 ? "detail" : null },
    headers.length === 0
      ? null
      : h(
          "thead",
          {},
          h(
            "tr",
            {},
            headers.map((c) => h("th", {}, c)),
          ),
        ),
    h("tbody", {}, rows),
  );
}

/** Active workers; `withServer` adds the server's host and PID, `withPayload` the payload. */
function workerTable(workers, { withServer = false, withPayload = false } = {}) {
  if (workers.length === 0) return h("p", { class: "muted empty" }, "No active worker.");
  return table(
    "workers",
    [
      "Task ID",
      "Type",
      "Queue",
      ...(withServer ? ["Server"] : []),
      ...(withPayload ? ["Payload"] : []),
      "Started",
      "Deadline",
    ],
    workers.map((w) =>
      h(
        "tr",
        { "data-task": w.taskId },
        h("td", { class: "id" }, h("a", { href: taskHref(w.queue, w.taskId) }, w.taskId)),
        h("td", { "data-col": "type" }, w.taskType),
        h("td", { "data-col": "queue" }, w.queue),
        withServer ? h("td", {}, h("a", { href: serverHref(w.serverId) }, `${w.host}:${w.pid}`)) : null,
        withPayload
          ? h("td", { "data-col": "payload", class: "payload" }, bytesView(w.payload, { preview: true }))
          : null,
        h("td", {}, formatDate(w.startedAt)),
        h("td", {}, formatDate(w.deadline)),
      ),
    ),
  );
}

export async function list() {
  const { servers } = await get("/api/servers");
  const workers = servers.flatMap((s) =>
    s.activeWorkers.map((w) => ({ ...w, serverId: s.serverId, host: s.host, pid: s.pid })),
  );
  return h(
    "section",
    { id: "servers" },
    h("h1", {}, "Servers"),
    servers.length === 0
      ? h("p", { class: "muted empty" }, "No server running.")
      : table(
          "server-list",
          ["Host", "PID", "Status", "Concurrency", "Queues", "Active workers", "Started"],
          servers.map((s) =>
            h(
              "tr",
              { "data-server": s.serverId },
              h("td", { "data-col": "host" }, h("a", { href: serverHref(s.serverId) }, s.host)),
              h("td", { class: "num" }, s.pid),
              h("td", { "data-col": "status" }, s.status),
              h("td", { class: "num" }, s.concurrency),
              h("td", { "data-col": "queues" }, queuesText(s.queues)),
              h("td", { "data-col": "workers", class: "num" }, formatNumber(s.activeWorkerCount)),
              h("td", {}, formatDate(s.startedAt)),
            ),
          ),
        ),
    h("h2", {}, "Active workers"),
    workerTable(workers, { withServer: true }),
  );
}

export async function server(ctx) {
  const s = await get(`/api/servers/${encodeURIComponent(ctx.params.id)}`);
  const rows = [
    ["Server ID", s.serverId],
    ["Host", s.host],
    ["PID", s.pid],
    ["Status", s.status],
    ["Concurrency", s.concurrency],
    ["Queues", queuesText(s.queues)],
    ["Strict priority", s.strictPriority ? "yes" : "no"],
    ["Started", formatDate(s.startedAt)],
    ["Active workers", formatNumber(s.activeWorkerCount)],
  ];
  return h(
    "section",
    { id: "server", "data-server": s.serverId },
    h("p", {}, h("a", { href: "#/servers" }, "← servers")),
    h("h1", {}, "Server ", h("span", { class: "name" }, `${s.host}:${s.pid}`)),
    table(
      "server-detail",
      [],
      rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", { "data-field": k }, v))),
    ),
    h("h2", {}, "Active workers"),
    workerTable(s.activeWorkers, { withPayload: true }),
  );
}
