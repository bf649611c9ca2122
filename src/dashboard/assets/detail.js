// The detail views: one task (payload and result as pretty JSON, text or hex), the servers and their
// active workers, the scheduler entries.
import { get, queuePath } from "./api.js";
import { queueHref, taskButtons, taskHref } from "./controls.js";
import { bytesView, formatDate, formatMs, formatNumber, h } from "./dom.js";

export async function task(ctx) {
  const { queue: name, id } = ctx.params;
  const t = await get(queuePath(name, "tasks", id));
  const rows = [
    ["ID", t.id],
    ["Queue", t.queue],
    ["Type", t.type],
    ["State", t.state],
    ["Group", t.group || "–"],
    ["Retried", `${t.retried} of ${t.maxRetry}`],
    ["Last error", t.lastError || "–"],
    ["Last failed at", formatDate(t.lastFailedAt)],
    ["Next process at", formatDate(t.nextProcessAt)],
    ["Timeout", t.timeoutMs ? formatMs(t.timeoutMs) : "–"],
    ["Deadline", formatDate(t.deadline)],
    ["Retention", t.retentionMs ? formatMs(t.retentionMs) : "–"],
    ["Completed at", formatDate(t.completedAt)],
    ["Headers", Object.keys(t.headers).length === 0 ? "–" : JSON.stringify(t.headers)],
  ];
  return h(
    "section",
    { id: "task", "data-task": t.id },
    h("p", {}, h("a", { href: queueHref(name, `?state=${t.state}`) }, `← ${name} / ${t.state}`)),
    h("h1", {}, "Task ", h("span", { class: "name" }, t.id)),
    h(
      "div",
      { class: "actions" },
      taskButtons(ctx, name, t, () => (location.hash = queueHref(name, `?state=${t.state}`))),
    ),
    h(
      "table",
      { class: "detail" },
      h(
        "tbody",
        {},
        rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", { "data-field": k }, v))),
      ),
    ),
    h("h2", {}, `Payload (${formatNumber(t.payload.size)} bytes)`),
    h("div", { "data-field": "payload" }, bytesView(t.payload)),
    h("h2", {}, "Result"),
    h("div", { "data-field": "result" }, bytesView(t.result)),
  );
}

export async function servers() {
  const { servers: list } = await get("/api/servers");
  return h(
    "section",
    { id: "servers" },
    h("h1", {}, "Servers"),
    list.length === 0
      ? h("p", { class: "muted" }, "No server running.")
      : h(
          "table",
          {},
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Host", "PID", "Status", "Concurrency", "Queues", "Active workers", "Started"].map((c) =>
                h("th", {}, c),
              ),
            ),
          ),
          h(
            "tbody",
            {},
            list.map((s) =>
              h(
                "tr",
                {},
                h("td", {}, s.host),
                h("td", {}, s.pid),
                h("td", {}, s.status),
                h("td", {}, s.concurrency),
                h(
                  "td",
                  {},
                  Object.entries(s.queues)
                    .map(([q, p]) => `${q}:${p}`)
                    .join(" "),
                ),
                h(
                  "td",
                  {},
                  s.activeWorkers.map((w) =>
                    h(
                      "div",
                      {},
                      h("a", { href: taskHref(w.queue, w.taskId) }, w.taskType),
                      ` since ${formatDate(w.startedAt)}`,
                    ),
                  ),
                ),
                h("td", {}, formatDate(s.startedAt)),
              ),
            ),
          ),
        ),
  );
}

export async function scheduler() {
  const { entries } = await get("/api/scheduler");
  return h(
    "section",
    { id: "scheduler" },
    h("h1", {}, "Scheduler entries"),
    entries.length === 0
      ? h("p", { class: "muted" }, "No scheduler entry.")
      : h(
          "table",
          {},
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Spec", "Type", "Payload", "Options", "Next", "Previous"].map((c) => h("th", {}, c)),
            ),
          ),
          h(
            "tbody",
            {},
            entries.map((e) =>
              h(
                "tr",
                {},
                h("td", {}, e.spec),
                h("td", {}, e.taskType),
                h("td", {}, bytesView(e.payload, { preview: true })),
                h("td", {}, e.options.join(", ")),
                h("td", {}, formatDate(e.next)),
                h("td", {}, formatDate(e.prev)),
              ),
            ),
          ),
        ),
  );
}
