// The queue views: the overview of queues (with the live throughput) and a queue's tasks by state.
// Each view is `async (ctx) => Node`; ctx has the route's params and query, the meta (read-only?),
// `poll` (the refresh interval), `act` (runs a mutation, then re-renders) and `selected` (the IDs
// ticked in a task table). The other views: detail.js (a task), groups.js, servers.js, scheduler.js,
// system.js (Redis info, doctor).
import { get, queuePath } from "./api.js";
import { historyChart, throughputChart } from "./charts.js";
import { groupsHref, pauseButton, queueHref, taskHref } from "./controls.js";
import { formatBytes, formatMs, formatNumber, h } from "./dom.js";
import { bulkButtons, pager, taskTable } from "./tables.js";
import * as throughput from "./throughput.js";

export const STATES = ["active", "pending", "aggregating", "scheduled", "retry", "archived", "completed"];
const PAGE_SIZE = 20;

export async function overview(ctx) {
  const { queues } = await get("/api/queues");
  throughput.record(queues, ctx.poll);
  const cols = ["active", "pending", "aggregating", "scheduled", "retry", "archived", "completed"];
  const total = (key) => queues.reduce((sum, q) => sum + (q[key] ?? 0), 0);
  return h(
    "section",
    { id: "overview" },
    h("h1", {}, "Queues"),
    h(
      "p",
      { class: "summary" },
      `${formatNumber(queues.length)} queues · ${formatNumber(total("size"))} tasks · processed today ${formatNumber(total("processed"))} · failed today ${formatNumber(total("failed"))}`,
    ),
    throughputChart(throughput.samples(), throughput.WINDOW_MS),
    queues.length === 0
      ? h("p", { class: "muted" }, "No queue yet.")
      : h(
          "table",
          { class: "queues" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", {}, "Queue"),
              h("th", {}, "State"),
              h("th", {}, "Size"),
              cols.map((c) => h("th", {}, c)),
              h("th", {}, "Processed today"),
              h("th", {}, "Failed today"),
              h("th", {}, "Latency"),
              h("th", {}, "Memory"),
              ctx.meta.readOnly ? null : h("th", {}, ""),
            ),
          ),
          h(
            "tbody",
            {},
            queues.map((q) =>
              h(
                "tr",
                { "data-queue": q.queue },
                h("td", { "data-col": "queue" }, h("a", { href: queueHref(q.queue) }, q.queue)),
                h(
                  "td",
                  { "data-col": "state" },
                  q.error
                    ? h("span", { class: "badge bad" }, "unreadable")
                    : q.paused
                      ? h("span", { class: "badge paused" }, "paused")
                      : "running",
                ),
                h("td", { "data-col": "size", class: "num" }, formatNumber(q.size)),
                cols.map((c) =>
                  h(
                    "td",
                    { "data-col": c, class: "num" },
                    h("a", { href: queueHref(q.queue, `?state=${c}`) }, formatNumber(q[c])),
                  ),
                ),
                h("td", { "data-col": "processed", class: "num" }, formatNumber(q.processed)),
                h("td", { "data-col": "failed", class: "num" }, formatNumber(q.failed)),
                h("td", { "data-col": "latency", class: "num" }, formatMs(q.latencyMs)),
                h("td", { "data-col": "memory", class: "num" }, formatBytes(q.memoryUsage)),
                ctx.meta.readOnly ? null : h("td", {}, pauseButton(ctx, q)),
              ),
            ),
          ),
        ),
  );
}

/** A field that opens a task of the queue by its ID (Enter). */
function lookup(queue) {
  const input = h("input", {
    type: "search",
    id: "lookup",
    placeholder: "task ID",
    "aria-label": "look up a task by ID",
    onkeydown: (event) => {
      const id = event.target.value.trim();
      if (event.key === "Enter" && id !== "") location.hash = taskHref(queue, id);
    },
  });
  return h("p", { class: "lookup" }, input);
}

export async function queue(ctx) {
  const name = ctx.params.queue;
  const state = STATES.includes(ctx.query.get("state")) ? ctx.query.get("state") : "pending";
  const page = Math.max(1, Number(ctx.query.get("page")) || 1);
  const group = ctx.query.get("group") ?? "";
  const days = ctx.query.get("days") === "30" ? 30 : 7;
  const [info, chart] = await Promise.all([get(queuePath(name)), historyChart(name, days)]);
  let listing = null;
  let groups = [];
  if (state === "aggregating") groups = (await get(`${queuePath(name, "groups")}`)).groups;
  if (state !== "aggregating" || group !== "") {
    const q = new URLSearchParams({ state, page: String(page), size: String(PAGE_SIZE) });
    if (group !== "") q.set("group", group);
    listing = await get(`${queuePath(name, "tasks")}?${q}`);
  }
  const pages = listing === null ? 1 : Math.max(1, Math.ceil(listing.total / PAGE_SIZE));
  const href = (p, s = state, g = group) =>
    queueHref(name, `?state=${s}${g ? `&group=${encodeURIComponent(g)}` : ""}${p > 1 ? `&page=${p}` : ""}`);
  return h(
    "section",
    { id: "queue", "data-queue": name },
    h(
      "h1",
      {},
      "Queue ",
      h("span", { class: "name" }, name),
      " ",
      info.paused ? h("span", { class: "badge paused" }, "paused") : null,
      " ",
      pauseButton(ctx, info),
    ),
    h(
      "p",
      { class: "summary" },
      `processed today ${formatNumber(info.processed)} · failed today ${formatNumber(info.failed)} · latency ${formatMs(info.latencyMs)} · memory ${formatBytes(info.memoryUsage)} · `,
      h("a", { href: groupsHref(name), id: "groups-link" }, `${formatNumber(info.groups)} groups`),
    ),
    h(
      "p",
      { class: "range" },
      "Processed and failed: ",
      [7, 30].map((d) =>
        h(
          "a",
          { href: queueHref(name, `?state=${state}&days=${d}`), class: d === days ? "current" : "" },
          `${d} days`,
        ),
      ),
    ),
    chart,
    lookup(name),
    h(
      "nav",
      { class: "tabs" },
      STATES.map((s) =>
        h(
          "a",
          { href: href(1, s, ""), class: s === state ? "tab current" : "tab", "data-state": s },
          `${s} `,
          h("span", { class: "count" }, formatNumber(info[s])),
        ),
      ),
    ),
    state === "aggregating"
      ? h(
          "p",
          { class: "groups" },
          groups.length === 0
            ? "No group."
            : [
                "Groups: ",
                groups.map((g) =>
                  h(
                    "a",
                    { href: href(1, state, g.group), class: g.group === group ? "current" : "" },
                    `${g.group} (${formatNumber(g.size)})`,
                  ),
                ),
              ],
        )
      : null,
    listing === null
      ? null
      : [
          bulkButtons(ctx, name, state, group),
          taskTable(ctx, name, listing.tasks, `No ${state} task.`),
          pager(page, (p) => href(p), { pages, total: listing.total }),
        ],
  );
}
