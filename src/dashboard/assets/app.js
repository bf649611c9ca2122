// The dashboard's page: a hash router over the views, bounded polling (one request chain at a time,
// paused while the tab is hidden), and mutations that re-render when they are done.
import { ApiError, loadMeta, post } from "./api.js";
import { h, replace } from "./dom.js";
import * as detail from "./detail.js";
import * as groups from "./groups.js";
import * as scheduler from "./scheduler.js";
import * as servers from "./servers.js";
import * as system from "./system.js";
import * as views from "./views.js";

const view = document.getElementById("view");
const poll = Number(document.body.dataset.poll) || 5000;
let meta;
let generation = 0;
let timer;
let flash = null;
const selected = new Set();
let selectionKey = "";

// [hash path, view, refreshed every poll interval?, names of the captured params]. The doctor's audit
// scans the keyspace: it runs when its page is opened or asked again, never on a timer.
const ROUTES = [
  [/^#?\/?$/, views.overview, true],
  [/^#\/queues\/([^/?]+)\/tasks\/([^/?]+)$/, detail.task, false, ["queue", "id"]],
  [/^#\/queues\/([^/?]+)\/groups$/, groups.list, true, ["queue"]],
  [/^#\/queues\/([^/?]+)\/groups\/([^/?]+)$/, groups.tasks, true, ["queue", "group"]],
  [/^#\/queues\/([^/?]+)$/, views.queue, true, ["queue"]],
  [/^#\/servers$/, servers.list, true],
  [/^#\/servers\/([^/?]+)$/, servers.server, true, ["id"]],
  [/^#\/scheduler$/, scheduler.entries, true],
  [/^#\/scheduler\/([^/?]+)$/, scheduler.history, true, ["entry"]],
  [/^#\/redis$/, system.redis, true],
  [/^#\/doctor$/, system.doctor, false],
];

function parseHash() {
  const [path, search = ""] = location.hash.split("?");
  for (const [regex, render, polls, names = []] of ROUTES) {
    const m = regex.exec(path);
    if (m === null) continue;
    const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
    return { render, polls, params, query: new URLSearchParams(search) };
  }
  return null;
}

async function act(path, body, after) {
  try {
    const answer = await post(path, body);
    flash = { ok: true, text: answer?.count !== undefined ? `done: ${answer.count} tasks` : "done" };
    selected.clear();
    if (after) after();
  } catch (error) {
    flash = {
      ok: false,
      text: error instanceof ApiError ? `${error.status} ${error.code}: ${error.message}` : String(error),
    };
  }
  await render();
}

/** What a page that is slow to come says meanwhile (the doctor's audit can take minutes). */
const LOADING = new Map([
  [system.doctor, "Auditing the keyspace… (minutes on a Redis with millions of keys)"],
]);
let shownHash = null;

async function render() {
  clearTimeout(timer);
  const mine = ++generation;
  const route = parseHash();
  if (route === null) {
    replace(view, h("p", {}, "No such page. ", h("a", { href: "#/" }, "Back to the queues")));
    shownHash = location.hash;
    return;
  }
  // A new page that takes more than 400 ms says so; a refresh of the same page keeps what it shows.
  const navigating = location.hash !== shownHash;
  shownHash = location.hash;
  const slow = navigating
    ? setTimeout(() => {
        if (mine !== generation) return;
        replace(view, h("p", { id: "loading", class: "muted" }, LOADING.get(route.render) ?? "Loading…"));
      }, 400)
    : undefined;
  // The selection holds across pages of one listing, and is dropped when the listing changes.
  const [hashPath, hashQuery = ""] = location.hash.split("?");
  const rest = new URLSearchParams(hashQuery);
  rest.delete("page");
  const key = `${hashPath}?${rest}`;
  if (key !== selectionKey) {
    selected.clear();
    selectionKey = key;
  }
  try {
    const node = await route.render({ ...route, meta, act, selected, poll });
    clearTimeout(slow);
    if (mine !== generation) return;
    const message =
      flash === null
        ? null
        : h("p", { id: "flash", class: flash.ok ? "ok" : "error", role: "status" }, flash.text);
    flash = null;
    replace(view, message, node);
  } catch (error) {
    clearTimeout(slow);
    if (mine !== generation) return;
    const text =
      error instanceof ApiError ? `${error.status} ${error.code}: ${error.message}` : String(error);
    replace(view, h("p", { id: "flash", class: "error", role: "alert" }, text));
  }
  if (route.polls && mine === generation) timer = setTimeout(tick, poll);
}

function tick() {
  if (document.hidden) {
    timer = setTimeout(tick, poll);
    return;
  }
  void render();
}

async function boot() {
  try {
    meta = await loadMeta();
  } catch (error) {
    replace(
      view,
      h("p", { class: "error", role: "alert" }, `Cannot reach the dashboard API: ${error.message}`),
    );
    return;
  }
  const mode = document.getElementById("mode");
  if (meta.readOnly) replace(mode, h("span", { class: "badge" }, "read-only"));
  window.addEventListener("hashchange", () => void render());
  await render();
}

void boot();
