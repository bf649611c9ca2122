// Redis's INFO as tables (the main figures, the keyspace, then every field), and the doctor's report:
// the read-only audit of asynq-ts/doctor. On a Redis Cluster, a row per master comes first (its keys,
// memory and load are split over them), the keyspace lists every master's, and the other tables are
// the first master's. Repairs are not offered here (`asynq-ts doctor --fix` makes
// them); the audit scans the keyspace, so it runs when this page is opened or asked again, and the
// dashboard reuses a report for 30 s or ten times the audit's duration (src/dashboard/doctor.ts).
import { get } from "./api.js";
import { queueHref } from "./controls.js";
import { formatDate, formatMs, formatNumber, h } from "./dom.js";

const HIGHLIGHTS = [
  ["redis_version", "Version"],
  ["redis_mode", "Mode"],
  ["role", "Role"],
  ["os", "OS"],
  ["uptime_in_seconds", "Uptime"],
  ["connected_clients", "Connected clients"],
  ["blocked_clients", "Blocked clients"],
  ["connected_slaves", "Connected replicas"],
  ["used_memory_human", "Memory used"],
  ["used_memory_peak_human", "Memory peak"],
  ["maxmemory_human", "Max memory"],
  ["maxmemory_policy", "Eviction policy"],
  ["mem_fragmentation_ratio", "Fragmentation ratio"],
  ["instantaneous_ops_per_sec", "Commands per second"],
  ["total_commands_processed", "Commands processed"],
  ["keyspace_hits", "Keyspace hits"],
  ["keyspace_misses", "Keyspace misses"],
  ["aof_enabled", "AOF enabled"],
];

function kvTable(id, rows) {
  return h(
    "table",
    { id, class: "detail" },
    h(
      "tbody",
      {},
      rows.map(([k, v, field]) => h("tr", { "data-field": field ?? k }, h("th", {}, k), h("td", {}, v))),
    ),
  );
}

/** The keyspace rows of one server's INFO: a row per database, with the node's address on a Cluster. */
function keyspaceRows(info, addr) {
  return Object.keys(info)
    .filter((k) => /^db\d+$/.test(k))
    .sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)))
    .map((db) => {
      const fields = Object.fromEntries(info[db].split(",").map((part) => part.split("=")));
      return {
        addr,
        db,
        keys: fields.keys ?? "–",
        expires: fields.expires ?? "–",
        avgTtl: fields.avg_ttl ?? "–",
      };
    });
}

function keyspaceTable(keyspace, clustered) {
  const head = ["Database", "Keys", "With a TTL", "Average TTL (ms)"];
  return h(
    "table",
    { id: "redis-keyspace" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        (clustered ? ["Master", ...head] : head).map((c) => h("th", {}, c)),
      ),
    ),
    h(
      "tbody",
      {},
      keyspace.map((k) =>
        h(
          "tr",
          { "data-db": k.db, "data-node": k.addr },
          clustered ? h("td", {}, k.addr) : null,
          h("td", {}, k.db),
          h("td", { class: "num" }, k.keys),
          h("td", { class: "num" }, k.expires),
          h("td", { class: "num" }, k.avgTtl),
        ),
      ),
    ),
  );
}

const NUMERIC = new Set(["replicas", "clients", "ops", "keys"]);

/** A Redis Cluster's masters: one row each, with what differs between them. */
function nodesTable(nodes) {
  const keys = (info) => keyspaceRows(info).reduce((n, k) => n + (Number(k.keys) || 0), 0);
  const cols = [
    ["Master", (n) => n.addr, "addr"],
    ["Version", (n) => n.info.redis_version ?? n.info.valkey_version ?? "–", "version"],
    ["Uptime", (n) => formatMs(Number(n.info.uptime_in_seconds) * 1000), "uptime"],
    ["Replicas", (n) => n.info.connected_slaves ?? "–", "replicas"],
    ["Clients", (n) => n.info.connected_clients ?? "–", "clients"],
    ["Memory used", (n) => n.info.used_memory_human ?? "–", "memory"],
    ["Commands per second", (n) => n.info.instantaneous_ops_per_sec ?? "–", "ops"],
    ["Keys", (n) => formatNumber(keys(n.info)), "keys"],
  ];
  return h(
    "table",
    { id: "redis-nodes" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        cols.map(([label]) => h("th", {}, label)),
      ),
    ),
    h(
      "tbody",
      {},
      nodes.map((n) =>
        h(
          "tr",
          { "data-node": n.addr },
          cols.map(([, value, col]) =>
            h("td", { "data-col": col, class: NUMERIC.has(col) ? "num" : undefined }, value(n)),
          ),
        ),
      ),
    ),
  );
}

export async function redis() {
  const { info, nodes, at } = await get("/api/redis");
  const uptime = (s) => formatMs(Number(s) * 1000);
  const highlights = HIGHLIGHTS.filter(([key]) => info[key] !== undefined).map(([key, label]) => [
    label,
    key === "uptime_in_seconds" ? uptime(info[key]) : info[key],
    key,
  ]);
  const clustered = nodes !== null && nodes !== undefined;
  const keyspace = clustered ? nodes.flatMap((n) => keyspaceRows(n.info, n.addr)) : keyspaceRows(info);
  const all = Object.keys(info).sort();
  return h(
    "section",
    { id: "redis" },
    h("h1", {}, "Redis"),
    h("p", { class: "summary" }, `INFO read at ${formatDate(at)}`),
    clustered
      ? [
          h("h2", {}, `Cluster: ${formatNumber(nodes.length)} masters`),
          nodesTable(nodes),
          h(
            "p",
            { id: "redis-first", class: "muted" },
            `Below: the INFO of the first master, ${nodes[0]?.addr ?? "–"} (the keyspace is of every master).`,
          ),
        ]
      : null,
    kvTable("redis-info", highlights),
    h("h2", {}, "Keyspace"),
    keyspace.length === 0
      ? h("p", { class: "muted" }, "No key in any database.")
      : keyspaceTable(keyspace, clustered),
    h(
      "details",
      {},
      h("summary", {}, `All ${formatNumber(all.length)} fields`),
      kvTable(
        "redis-all",
        all.map((k) => [k, info[k]]),
      ),
    ),
  );
}

function issueRows(issues) {
  return issues.map((i) =>
    h(
      "tr",
      { "data-kind": i.kind },
      h("td", { "data-col": "kind" }, i.kind),
      h("td", { "data-col": "queue" }, i.queue ?? "–"),
      h("td", { "data-col": "key", class: "id" }, i.key),
      h("td", { "data-col": "id", class: "id" }, i.id ?? "–"),
      h("td", { "data-col": "detail" }, i.detail),
      h("td", {}, i.fixable ? "by doctor --fix" : "report only"),
    ),
  );
}

const countOf = (byKind) => Object.values(byKind).reduce((n, c) => n + c, 0);

/** A queue picker: changing it opens the audit of that queue (or of everything). */
function scopePicker(names, current) {
  const select = h(
    "select",
    {
      id: "doctor-queue",
      "aria-label": "queue to audit",
      onchange: (e) => {
        const q = e.target.value;
        location.hash = q === "" ? "#/doctor" : `#/doctor?queue=${encodeURIComponent(q)}`;
      },
    },
    h("option", { value: "" }, "every queue, and the global checks"),
    names.map((n) => h("option", { value: n }, n)),
  );
  select.value = current;
  return select;
}

export async function doctor(ctx) {
  if (!ctx.meta.doctor) {
    return h(
      "section",
      { id: "doctor" },
      h("h1", {}, "Doctor"),
      h(
        "p",
        { class: "muted" },
        "Not available: this dashboard was given an Inspector, not a Redis connection. Run `asynq-ts doctor`.",
      ),
    );
  }
  const queue = ctx.query.get("queue") ?? "";
  const path = queue === "" ? "/api/doctor" : `/api/doctor?queue=${encodeURIComponent(queue)}`;
  const [report, { queues }] = await Promise.all([get(path), get("/api/queues")]);
  const names = queues.map((q) => q.queue);
  if (queue !== "" && !names.includes(queue)) names.push(queue);
  const issues = [...report.queues.flatMap((q) => q.issues), ...report.global];
  const total = report.queues.reduce((n, q) => n + countOf(q.counts), countOf(report.globalCounts));
  const again = `#/doctor?${new URLSearchParams({ ...(queue === "" ? {} : { queue }), run: String(Date.now()) })}`;
  return h(
    "section",
    { id: "doctor", "data-clean": String(report.clean) },
    h("h1", {}, "Doctor"),
    h(
      "p",
      { class: "summary" },
      `Audit of ${formatDate(report.startedAt)}: ${formatNumber(report.scannedKeys)} keys scanned in ${formatMs(report.elapsedMs)}` +
        (report.reused
          ? ` (reused, ${formatMs(report.ageMs)} old: a report is reused for ${formatMs(report.reuseMs)})`
          : ""),
    ),
    h(
      "p",
      {},
      "Audit: ",
      scopePicker(names, queue),
      " ",
      h("a", { href: again, id: "doctor-again" }, "audit again"),
    ),
    h(
      "p",
      { id: "doctor-result", class: report.clean ? "ok" : "error" },
      report.clean
        ? "Clean: no broken invariant found."
        : `${formatNumber(total)} ${total === 1 ? "finding" : "findings"}${report.truncated ? ` (at most ${report.issueLimit} listed per kind)` : ""}.`,
    ),
    h(
      "p",
      { class: "muted" },
      "Read-only: the dashboard repairs nothing. Run asynq-ts doctor --fix to repair what is fixable.",
    ),
    h(
      "table",
      { id: "doctor-queues" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Queue", "Registered", "Task hashes", "Findings"].map((c) => h("th", {}, c)),
        ),
      ),
      h(
        "tbody",
        {},
        report.queues.map((q) =>
          h(
            "tr",
            { "data-queue": q.queue },
            h("td", {}, q.registered ? h("a", { href: queueHref(q.queue) }, q.queue) : q.queue),
            h("td", {}, q.registered ? "yes" : "no"),
            h("td", { class: "num" }, formatNumber(Object.values(q.tasks).reduce((n, c) => n + c, 0))),
            h("td", { class: "num", "data-col": "findings" }, formatNumber(countOf(q.counts))),
          ),
        ),
      ),
    ),
    issues.length === 0
      ? null
      : [
          h("h2", {}, "Findings"),
          h(
            "table",
            { id: "doctor-issues" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Kind", "Queue", "Key", "Task ID", "What is wrong", "Repair"].map((c) => h("th", {}, c)),
              ),
            ),
            h("tbody", {}, issueRows(issues)),
          ),
        ],
  );
}
