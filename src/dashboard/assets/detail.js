// The detail of one task: its fields, payload and result as pretty JSON, text or hex, and its actions.
import { get, queuePath } from "./api.js";
import { queueHref, taskButtons } from "./controls.js";
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
