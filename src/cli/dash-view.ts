// What the dashboard shows (src/cli/dash.ts draws it): a pure function from the data read and the
// navigation state to screen lines, each a list of styled segments. Every string from Redis is made
// terminal-safe here.
import type { QueueInfo, SchedulerEntry, ServerInfo, TaskInfo, TaskState, WorkerInfo } from "../index.js";
import {
  formatCount,
  formatDuration,
  formatRelative,
  payloadText,
  safe,
  STATES,
  truncate,
} from "./output.js";

export type View = "queues" | "queue" | "servers" | "cron";

/** Styles a segment can have. */
export interface Segment {
  text: string;
  bold?: boolean;
  inverse?: boolean;
  dim?: boolean;
  color?: "red" | "green" | "yellow" | "cyan";
}
export type Line = Segment[];

/** Everything the screen shows. */
export interface DashModel {
  view: View;
  address: string;
  now: Date;
  queues: QueueInfo[];
  /** Selected row of the queues view. */
  selected: number;
  /** The queue view: its queue, state, tasks (or groups for aggregating), selected row. */
  queue?: {
    name: string;
    info: QueueInfo | null;
    state: TaskState;
    tasks: TaskInfo[];
    groups: Array<{ group: string; size: number }>;
    selected: number;
  };
  servers: ServerInfo[];
  workers: WorkerInfo[];
  entries: SchedulerEntry[];
  /** The last error of a refresh, shown in the status line. */
  error?: string;
}

function pad(text: string, width: number, right = false): string {
  const cut = truncate(text, width);
  return right ? cut.padStart(width) : cut.padEnd(width);
}

/** Numbers columns of the queues view. */
const QUEUE_COLUMNS: Array<[string, (q: QueueInfo) => number]> = [
  ["Size", (q) => q.size],
  ["Pend", (q) => q.pending],
  ["Actv", (q) => q.active],
  ["Schd", (q) => q.scheduled],
  ["Rtry", (q) => q.retry],
  ["Arch", (q) => q.archived],
  ["Done", (q) => q.completed],
  ["Proc", (q) => q.processed],
  ["Fail", (q) => q.failed],
];

function compact(n: number): string {
  if (n < 10_000) return String(n);
  if (n < 1_000_000) return `${Math.floor(n / 1000)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

function queuesBody(m: DashModel, width: number, rows: number): Line[] {
  const num = 6;
  const nameWidth = Math.max(8, width - QUEUE_COLUMNS.length * (num + 1) - 2);
  const head = `${pad("Queue", nameWidth)} ${QUEUE_COLUMNS.map(([h]) => pad(h, num, true)).join(" ")}`;
  const lines: Line[] = [[{ text: head, bold: true }]];
  if (m.queues.length === 0) lines.push([{ text: "No queues.", dim: true }]);
  const start = Math.max(0, m.selected - rows + 2);
  m.queues.slice(start, start + rows - 1).forEach((q, i) => {
    const name = `${q.paused ? "‖ " : ""}${safe(q.queue)}`;
    const text = `${pad(name, nameWidth)} ${QUEUE_COLUMNS.map(([, pick]) => pad(compact(pick(q)), num, true)).join(" ")}`;
    const seg: Segment = { text };
    if (start + i === m.selected) seg.inverse = true;
    if (q.paused) seg.color = "yellow";
    if (q.error !== undefined) seg.color = "red";
    lines.push([seg]);
  });
  return lines;
}

/** Short state names, so that the tabs fit in 80 columns. */
const TAB_NAMES: Record<TaskState, string> = {
  active: "active",
  pending: "pending",
  aggregating: "aggr",
  scheduled: "sched",
  retry: "retry",
  archived: "archived",
  completed: "done",
};

function stateTabs(m: NonNullable<DashModel["queue"]>): Line {
  const info = m.info;
  return STATES.flatMap((s): Segment[] => [
    {
      text: `${TAB_NAMES[s]}(${info === null ? "?" : compact(info[s])})`,
      inverse: s === m.state,
      bold: s === m.state,
    },
    { text: " " },
  ]);
}

function queueBody(m: DashModel, width: number, rows: number): Line[] {
  const q = m.queue!;
  const info = q.info;
  const title =
    info === null
      ? "queue not found"
      : `${info.paused ? "paused  " : ""}latency ${formatDuration(info.latency)}  processed ${formatCount(info.processed)}  failed ${formatCount(info.failed)}  groups ${info.groups}`;
  const lines: Line[] = [[{ text: title, dim: true }], stateTabs(q)];
  if (q.state === "aggregating") {
    lines.push([{ text: `${pad("Group", width - 10)} ${pad("Size", 9, true)}`, bold: true }]);
    if (q.groups.length === 0) lines.push([{ text: "No groups.", dim: true }]);
    for (const g of q.groups.slice(0, rows - 3))
      lines.push([{ text: `${pad(safe(g.group), width - 10)} ${pad(formatCount(g.size), 9, true)}` }]);
    return lines;
  }
  const idWidth = 36;
  const typeWidth = Math.min(20, Math.max(8, width - idWidth - 12));
  const payloadWidth = Math.max(4, width - idWidth - typeWidth - 2);
  lines.push([
    { text: `${pad("ID", idWidth)} ${pad("Type", typeWidth)} ${pad("Payload", payloadWidth)}`, bold: true },
  ]);
  if (q.tasks.length === 0) lines.push([{ text: `No ${q.state} tasks.`, dim: true }]);
  const visible = rows - 3;
  const start = Math.max(0, q.selected - visible + 1);
  q.tasks.slice(start, start + visible).forEach((t, i) => {
    const text = `${pad(safe(t.id), idWidth)} ${pad(safe(t.type), typeWidth)} ${pad(payloadText(t.payload), payloadWidth)}`;
    lines.push([{ text, inverse: start + i === q.selected }]);
  });
  return lines;
}

function serversBody(m: DashModel, width: number, rows: number): Line[] {
  const lines: Line[] = [
    [
      {
        text: `${pad("Host", 20)} ${pad("PID", 7)} ${pad("Status", 7)} ${pad("Workers", 8)} Queues`,
        bold: true,
      },
    ],
  ];
  if (m.servers.length === 0) lines.push([{ text: "No running servers.", dim: true }]);
  for (const s of m.servers.slice(0, Math.max(1, Math.floor(rows / 2) - 1))) {
    const queues = Object.entries(s.queues)
      .map(([q, p]) => `${safe(q)}:${p}`)
      .join(" ");
    lines.push([
      {
        text: pad(
          `${pad(safe(s.host), 20)} ${pad(String(s.pid), 7)} ${pad(safe(s.status), 7)} ${pad(`${s.activeWorkerCount}/${s.concurrency}`, 8)} ${queues}`,
          width,
        ),
        color: s.status === "active" ? "green" : "yellow",
      },
    ]);
  }
  lines.push([{ text: "" }], [{ text: `Active workers (${m.workers.length})`, bold: true }]);
  for (const w of m.workers.slice(0, Math.max(0, rows - lines.length))) {
    lines.push([
      {
        text: pad(
          `${pad(safe(w.taskId), 36)} ${pad(safe(w.taskType), 16)} ${pad(safe(w.queue), 10)} ${formatRelative(w.startedAt, m.now.getTime())}`,
          width,
        ),
      },
    ]);
  }
  return lines;
}

function cronBody(m: DashModel, width: number, rows: number): Line[] {
  const lines: Line[] = [
    [{ text: `${pad("Spec", 16)} ${pad("Type", 20)} ${pad("Next", 14)} ${pad("Prev", 14)}`, bold: true }],
  ];
  if (m.entries.length === 0) lines.push([{ text: "No scheduler entries.", dim: true }]);
  for (const e of m.entries.slice(0, rows - 1)) {
    const now = m.now.getTime();
    lines.push([
      {
        text: pad(
          `${pad(safe(e.spec), 16)} ${pad(safe(e.taskType), 20)} ${pad(formatRelative(e.next, now), 14)} ${pad(e.prev === null ? "never" : formatRelative(e.prev, now), 14)}`,
          width,
        ),
      },
    ]);
  }
  return lines;
}

const HELP: Record<View, string> = {
  queues: "↑↓ select  Enter tasks  s servers  c cron  q quit",
  queue: "←→/Tab state  ↑↓ select  Esc back  s servers  c cron  q quit",
  servers: "Esc/u queues  c cron  q quit",
  cron: "Esc/u queues  s servers  q quit",
};

/** The whole screen, exactly `height` lines of at most `width` characters. */
export function renderDash(m: DashModel, width: number, height: number): Line[] {
  const clock = m.now.toISOString().slice(11, 19);
  const where =
    m.view === "queue" ? `queue ${safe(m.queue?.name ?? "")}` : m.view === "queues" ? "queues" : m.view;
  const header = `asynq-ts dash  ${safe(m.address)}  ${where}`;
  const right = `${clock} UTC`;
  const top: Line = [
    { text: `${pad(header, Math.max(0, width - right.length - 1))} ${right}`, inverse: true, bold: true },
  ];
  const rows = height - 3;
  const body =
    m.view === "queues"
      ? queuesBody(m, width, rows)
      : m.view === "queue"
        ? queueBody(m, width, rows)
        : m.view === "servers"
          ? serversBody(m, width, rows)
          : cronBody(m, width, rows);
  const lines: Line[] = [top, ...body.slice(0, rows)];
  while (lines.length < height - 2) lines.push([{ text: "" }]);
  lines.push(
    m.error === undefined
      ? [{ text: "" }]
      : [{ text: truncate(`error: ${safe(m.error)}`, width), color: "red" }],
  );
  lines.push([{ text: truncate(HELP[m.view], width), dim: true }]);
  return lines.map((line) => clip(line, width));
}

/** Cuts a line to `width` characters. */
function clip(line: Line, width: number): Line {
  const out: Line = [];
  let left = width;
  for (const seg of line) {
    if (left <= 0) break;
    const text = seg.text.length > left ? seg.text.slice(0, left) : seg.text;
    out.push({ ...seg, text });
    left -= text.length;
  }
  return out;
}
