// Tables shared by the queue and group views: a page of tasks (with selection boxes and action buttons
// unless read-only), the bulk buttons over a state, and the pager.
import { queuePath } from "./api.js";
import { ACTIONS, button, taskButtons, taskHref } from "./controls.js";
import { bytesView, formatDate, formatNumber, h } from "./dom.js";

/** The tasks of one page; `queue` is where they live. */
export function taskTable(ctx, queue, tasks, emptyText) {
  if (tasks.length === 0) return h("p", { class: "muted empty" }, emptyText);
  const ro = ctx.meta.readOnly;
  const selected = ctx.selected;
  return h(
    "table",
    { class: "tasks" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ro ? null : h("th", {}, ""),
        ["ID", "Type", "Payload", "Retried", "Last error", "Next process at"].map((c) => h("th", {}, c)),
        ro ? null : h("th", {}, ""),
      ),
    ),
    h(
      "tbody",
      {},
      tasks.map((t) =>
        h(
          "tr",
          { "data-task": t.id },
          ro
            ? null
            : h(
                "td",
                {},
                h("input", {
                  type: "checkbox",
                  checked: selected.has(t.id),
                  onchange: (e) => (e.target.checked ? selected.add(t.id) : selected.delete(t.id)),
                }),
              ),
          h("td", { class: "id" }, h("a", { href: taskHref(queue, t.id) }, t.id)),
          h("td", { "data-col": "type" }, t.type),
          h("td", { "data-col": "payload", class: "payload" }, bytesView(t.payload, { preview: true })),
          h("td", { class: "num" }, `${t.retried}/${t.maxRetry}`),
          h("td", { "data-col": "error" }, t.lastError),
          h("td", {}, formatDate(t.nextProcessAt)),
          ro ? null : h("td", { class: "actions" }, taskButtons(ctx, queue, t)),
        ),
      ),
    ),
  );
}

/** "run/archive/delete selected" and "… all" for the tasks of `state` (of `group` when aggregating). */
export function bulkButtons(ctx, queue, state, group = "") {
  const selected = ctx.selected;
  const bulk = (action) =>
    ACTIONS[action].includes(state)
      ? [
          button(ctx, `${action} selected`, () => {
            if (selected.size === 0) return;
            return ctx.act(queuePath(queue, "batch", action), { ids: [...selected] });
          }),
          button(ctx, `${action} all`, () => {
            const what = group === "" ? `${state} task of ${queue}` : `task of group ${group} in ${queue}`;
            if (!window.confirm(`${action} every ${what}?`)) return;
            const q = new URLSearchParams({ state });
            if (group !== "") q.set("group", group);
            return ctx.act(`${queuePath(queue, "all", action)}?${q}`);
          }),
        ]
      : [];
  return h("div", { class: "bulk" }, bulk("run"), bulk("archive"), bulk("delete"));
}

/** Previous / next links; `pages` null when only "is there more" is known (`hasMore`). */
export function pager(page, href, { pages = null, total = null, hasMore = false, unit = "tasks" } = {}) {
  const last = pages === null ? !hasMore : page >= pages;
  const label =
    pages === null
      ? `page ${page}`
      : `page ${page} of ${pages}${total === null ? "" : ` (${formatNumber(total)} ${unit})`}`;
  return h(
    "nav",
    { class: "pager" },
    page > 1 ? h("a", { href: href(page - 1), rel: "prev" }, "← previous") : null,
    h("span", { class: "page" }, label),
    last ? null : h("a", { href: href(page + 1), rel: "next" }, "next →"),
  );
}
