// `asynq-ts task ls|inspect|cancel|archive|delete|run` (asynq's `task` commands); the bulk commands
// are in task-bulk.ts, `task enqueue` in enqueue.ts.
import type { Command } from "commander";
import type { TaskInfo, TaskState } from "../index.js";
import { withInspector } from "./connection.js";
import { CliError, EXIT } from "./fail.js";
import { taskJson } from "./json.js";
import {
  formatDuration,
  formatRelative,
  formatTime,
  payloadText,
  printJson,
  printTable,
  println,
  safe,
  truncate,
  STATES,
} from "./output.js";
import { intFlag } from "./parse.js";

/** A state flag, checked. */
export function stateFlag(value: string | undefined): TaskState {
  if (value === undefined || !(STATES as readonly string[]).includes(value)) {
    throw new CliError(
      `--state: expected one of ${STATES.join(", ")}, got ${JSON.stringify(value ?? "")}`,
      EXIT.usage,
    );
  }
  return value as TaskState;
}

const PAYLOAD_WIDTH = 40;

/** The columns `task ls` shows for a state (asynq's, plus the group where tasks have one). */
export function taskRows(
  state: TaskState,
  tasks: TaskInfo[],
  now = Date.now(),
): { header: string[]; rows: string[][] } {
  const base = (t: TaskInfo): string[] => [
    safe(t.id),
    safe(t.type),
    truncate(payloadText(t.payload), PAYLOAD_WIDTH),
  ];
  const group = (t: TaskInfo): string => safe(t.group);
  switch (state) {
    case "active":
      return { header: ["ID", "Type", "Payload"], rows: tasks.map(base) };
    case "pending":
      return { header: ["ID", "Type", "Payload", "Group"], rows: tasks.map((t) => [...base(t), group(t)]) };
    case "aggregating":
      return { header: ["ID", "Type", "Payload", "Group"], rows: tasks.map((t) => [...base(t), group(t)]) };
    case "scheduled":
      return {
        header: ["ID", "Type", "Payload", "Process In", "Group"],
        rows: tasks.map((t) => [...base(t), formatRelative(t.nextProcessAt, now), group(t)]),
      };
    case "retry":
      return {
        header: [
          "ID",
          "Type",
          "Payload",
          "Next Retry",
          "Last Error",
          "Last Failed",
          "Retried",
          "Max Retry",
          "Group",
        ],
        rows: tasks.map((t) => [
          ...base(t),
          formatRelative(t.nextProcessAt, now),
          truncate(safe(t.lastError), 40),
          formatRelative(t.lastFailedAt, now),
          String(t.retried),
          String(t.maxRetry),
          group(t),
        ]),
      };
    case "archived":
      return {
        header: ["ID", "Type", "Payload", "Last Failed", "Last Error", "Group"],
        rows: tasks.map((t) => [
          ...base(t),
          formatRelative(t.lastFailedAt, now),
          truncate(safe(t.lastError), 40),
          group(t),
        ]),
      };
    case "completed":
      return {
        header: ["ID", "Type", "Payload", "Completed", "Result", "Group"],
        rows: tasks.map((t) => [
          ...base(t),
          formatRelative(t.completedAt, now),
          truncate(payloadText(t.result), 30),
          group(t),
        ]),
      };
  }
}

function inspectText(t: TaskInfo): string {
  const lines: Array<[string, string]> = [
    ["Queue", safe(t.queue)],
    ["ID", safe(t.id)],
    ["Type", safe(t.type)],
    ["State", t.state],
    ["Retried", `${t.retried}/${t.maxRetry}`],
    ["Group", t.group === "" ? "-" : safe(t.group)],
    [
      "Next Process Time",
      t.nextProcessAt === null ? "-" : `${formatTime(t.nextProcessAt)} (${formatRelative(t.nextProcessAt)})`,
    ],
    ["Timeout", t.timeout === 0 ? "-" : formatDuration(t.timeout)],
    ["Deadline", formatTime(t.deadline)],
    ["Retention", t.retention === 0 ? "-" : formatDuration(t.retention)],
    ["Last Failure", t.lastError === "" ? "-" : `${safe(t.lastError)} (${formatTime(t.lastFailedAt)})`],
    ["Completed", formatTime(t.completedAt)],
    ["Headers", Object.keys(t.headers).length === 0 ? "-" : safe(JSON.stringify(t.headers))],
    ["Payload", payloadText(t.payload) || "-"],
    ["Result", t.result === null ? "-" : payloadText(t.result) || "(empty)"],
  ];
  const width = Math.max(...lines.map(([k]) => k.length)) + 1;
  return lines.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`).join("\n");
}

interface TaskFlags {
  queue: string;
  id: string;
}

/** Registers archive/delete/run of one task (asynq: `task archive --queue Q --id ID`). */
function oneTaskCommand(
  task: Command,
  name: "archive" | "delete" | "run",
  verb: string,
  description: string,
): void {
  task
    .command(name)
    .description(description)
    .requiredOption("-q, --queue <queue>", "the task's queue")
    .requiredOption("-i, --id <id>", "the task's ID")
    .action(async (flags: TaskFlags, command: Command) => {
      await withInspector(command, async (inspector) => {
        if (name === "archive") await inspector.archiveTask(flags.queue, flags.id);
        else if (name === "delete") await inspector.deleteTask(flags.queue, flags.id);
        else await inspector.runTask(flags.queue, flags.id);
      });
      println(`Successfully ${verb} task ${safe(flags.id)} of queue "${safe(flags.queue)}"`);
    });
}

export function registerTask(task: Command): void {
  task
    .command("ls")
    .alias("list")
    .description("list the tasks of a queue in a state")
    .requiredOption("-q, --queue <queue>", "the queue")
    .requiredOption("-s, --state <state>", `the state: ${STATES.join(", ")}`)
    .option("-g, --group <group>", "the group (required for aggregating tasks)")
    .option("--page <n>", "page number, from 1", "1")
    .option("--size <n>", "tasks per page, 1 to 10000", "30")
    .option("--json", "print JSON: an array of task objects")
    .action(
      async (
        flags: { queue: string; state: string; group?: string; page: string; size: string; json?: boolean },
        command: Command,
      ) => {
        const state = stateFlag(flags.state);
        if (state === "aggregating" && flags.group === undefined) {
          throw new CliError("--group is required to list aggregating tasks (see `group ls`)", EXIT.usage);
        }
        const page = intFlag(flags.page, "--page", 1);
        const size = intFlag(flags.size, "--size", 1, 10_000);
        const tasks = await withInspector(command, (inspector) =>
          inspector.listTasks(flags.queue, state, {
            page,
            size,
            ...(state === "aggregating" ? { group: flags.group } : {}),
          }),
        );
        if (flags.json === true) {
          printJson(tasks.map(taskJson));
          return;
        }
        const { header, rows } = taskRows(state, tasks);
        printTable(
          header,
          rows,
          `No ${state} tasks in queue "${safe(flags.queue)}"${page > 1 ? ` on page ${page}` : ""}.`,
        );
      },
    );

  task
    .command("inspect")
    .description("show the details of a task")
    .requiredOption("-q, --queue <queue>", "the task's queue")
    .requiredOption("-i, --id <id>", "the task's ID")
    .option("--json", "print JSON: a task object")
    .action(async (flags: TaskFlags & { json?: boolean }, command: Command) => {
      const info = await withInspector(command, (inspector) => inspector.getTaskInfo(flags.queue, flags.id));
      if (flags.json === true) printJson(taskJson(info));
      else println(inspectText(info));
    });

  task
    .command("cancel")
    .description("ask the servers to cancel active tasks (the attempt fails, then is retried or archived)")
    .argument("<id...>", "task IDs")
    .action(async (ids: string[], _flags: unknown, command: Command) => {
      await withInspector(command, async (inspector) => {
        for (const id of ids) {
          await inspector.cancelProcessing(id);
          println(`Sent cancelation signal for task ${safe(id)}`);
        }
      });
    });

  oneTaskCommand(task, "archive", "archived", "archive a task");
  oneTaskCommand(task, "delete", "deleted", "delete a task");
  oneTaskCommand(
    task,
    "run",
    "ran",
    "move a scheduled, retry, archived, completed or aggregating task to pending",
  );
}
