// The scheduler entries of every live scheduler (Go's and ours) and, per entry, the tasks it enqueued,
// newest first, page by page. Specs, types, payloads and option strings are shown as text.
import { get } from "./api.js";
import { taskHref } from "./controls.js";
import { bytesView, formatDate, h } from "./dom.js";
import { pager } from "./tables.js";

const PAGE_SIZE = 20;
const historyHref = (id, page = 1) =>
  `#/scheduler/${encodeURIComponent(id)}${page > 1 ? `?page=${page}` : ""}`;

function entryRow(e, { link }) {
  return h(
    "tr",
    { "data-entry": e.id },
    h("td", { "data-col": "spec" }, e.spec),
    h("td", { "data-col": "type" }, e.taskType),
    h("td", { "data-col": "payload", class: "payload" }, bytesView(e.payload, { preview: true })),
    h("td", { "data-col": "options" }, e.options.join(", ") || "–"),
    h("td", { "data-col": "next" }, formatDate(e.next)),
    h("td", { "data-col": "prev" }, formatDate(e.prev)),
    link ? h("td", {}, h("a", { href: historyHref(e.id), class: "history" }, "history")) : null,
  );
}

function entryTable(entries, { link }) {
  return h(
    "table",
    { class: "entries" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Spec", "Type", "Payload", "Options", "Next", "Previous", ...(link ? [""] : [])].map((c) =>
          h("th", {}, c),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      entries.map((e) => entryRow(e, { link })),
    ),
  );
}

export async function entries() {
  const { entries: list } = await get("/api/scheduler");
  return h(
    "section",
    { id: "scheduler" },
    h("h1", {}, "Scheduler entries"),
    list.length === 0
      ? h("p", { class: "muted empty" }, "No scheduler entry.")
      : entryTable(list, { link: true }),
  );
}

export async function history(ctx) {
  const id = ctx.params.entry;
  const page = Math.max(1, Number(ctx.query.get("page")) || 1);
  const q = new URLSearchParams({ page: String(page), size: String(PAGE_SIZE) });
  const answer = await get(`/api/scheduler/${encodeURIComponent(id)}/history?${q}`);
  const entry = answer.entry;
  return h(
    "section",
    { id: "scheduler-history", "data-entry": id },
    h("p", {}, h("a", { href: "#/scheduler" }, "← scheduler entries")),
    h("h1", {}, "Enqueue history of ", h("span", { class: "name" }, id)),
    entry === null
      ? h("p", { class: "muted" }, "No live scheduler lists this entry now; its history is kept.")
      : entryTable([entry], { link: false }),
    h("h2", {}, "Tasks it enqueued, newest first"),
    answer.events.length === 0
      ? h("p", { class: "muted empty" }, "No enqueue recorded.")
      : h(
          "table",
          { class: "events" },
          h("thead", {}, h("tr", {}, h("th", {}, "Task ID"), h("th", {}, "Enqueued at"))),
          h(
            "tbody",
            {},
            answer.events.map((e) =>
              h(
                "tr",
                { "data-task": e.taskId },
                h(
                  "td",
                  { class: "id" },
                  // The queue is known from the live entry only; a task may be gone (done, deleted).
                  entry === null ? e.taskId : h("a", { href: taskHref(entry.queue, e.taskId) }, e.taskId),
                ),
                h("td", {}, formatDate(e.enqueuedAt)),
              ),
            ),
          ),
        ),
    pager(page, (p) => historyHref(id, p), { hasMore: answer.hasMore }),
  );
}
