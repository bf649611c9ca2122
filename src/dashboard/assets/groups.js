// The groups of a queue (tasks waiting to be aggregated) and one group's tasks, page by page, with the
// actions the Inspector allows on aggregating tasks: run, archive, delete (one, selected, or all).
import { get, queuePath } from "./api.js";
import { groupsHref, queueHref } from "./controls.js";
import { formatNumber, h } from "./dom.js";
import { bulkButtons, pager, taskTable } from "./tables.js";

const PAGE_SIZE = 20;

export async function list(ctx) {
  const name = ctx.params.queue;
  const { groups } = await get(queuePath(name, "groups"));
  return h(
    "section",
    { id: "groups", "data-queue": name },
    h("p", {}, h("a", { href: queueHref(name) }, `← queue ${name}`)),
    h("h1", {}, "Groups of ", h("span", { class: "name" }, name)),
    h(
      "p",
      { class: "summary" },
      `${formatNumber(groups.length)} groups · ${formatNumber(groups.reduce((n, g) => n + g.size, 0))} tasks waiting to be aggregated`,
    ),
    groups.length === 0
      ? h("p", { class: "muted empty" }, "No group has tasks waiting.")
      : h(
          "table",
          { class: "groups-table" },
          h("thead", {}, h("tr", {}, h("th", {}, "Group"), h("th", {}, "Tasks"))),
          h(
            "tbody",
            {},
            groups.map((g) =>
              h(
                "tr",
                { "data-group": g.group },
                h("td", { "data-col": "group" }, h("a", { href: groupsHref(name, g.group) }, g.group)),
                h("td", { "data-col": "size", class: "num" }, formatNumber(g.size)),
              ),
            ),
          ),
        ),
  );
}

export async function tasks(ctx) {
  const { queue: name, group } = ctx.params;
  const page = Math.max(1, Number(ctx.query.get("page")) || 1);
  const q = new URLSearchParams({ page: String(page), size: String(PAGE_SIZE) });
  const listing = await get(`${queuePath(name, "groups", group)}?${q}`);
  const pages = Math.max(1, Math.ceil(listing.total / PAGE_SIZE));
  const href = (p) => `${groupsHref(name, group)}${p > 1 ? `?page=${p}` : ""}`;
  return h(
    "section",
    { id: "group", "data-queue": name, "data-group": group },
    h("p", {}, h("a", { href: groupsHref(name) }, `← groups of ${name}`)),
    h("h1", {}, "Group ", h("span", { class: "name" }, group), " in ", h("span", { class: "name" }, name)),
    h(
      "p",
      { class: "summary" },
      h("span", { id: "group-size" }, formatNumber(listing.total)),
      " tasks waiting to be aggregated",
      listing.corrupt > 0 ? ` · ${formatNumber(listing.corrupt)} unreadable on this page` : "",
    ),
    listing.total === 0 ? null : bulkButtons(ctx, name, "aggregating", group),
    taskTable(ctx, name, listing.tasks, "No task waits in this group."),
    pager(page, href, { pages, total: listing.total }),
  );
}
