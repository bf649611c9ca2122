// `asynq-ts queue ls|inspect|history|pause|unpause|rm` (asynq's `queue` commands).
import type { Command } from "commander";
import type { Inspector, QueueInfo } from "../index.js";
import { withInspector } from "./connection.js";
import { describeError } from "./fail.js";
import { queueJson } from "./json.js";
import {
  errorRate,
  formatBytes,
  formatCount,
  formatDuration,
  paint,
  printJson,
  println,
  safe,
  table,
} from "./output.js";
import { intFlag } from "./parse.js";

const STATES = ["active", "pending", "aggregating", "scheduled", "retry", "archived", "completed"] as const;

function inspectText(q: QueueInfo): string {
  return [
    paint("bold", "Queue Info"),
    `Name:     ${safe(q.queue)}`,
    `Size:     ${formatCount(q.size)}`,
    `Groups:   ${formatCount(q.groups)}`,
    `Paused:   ${q.paused ? paint("yellow", "true") : "false"}`,
    `Latency:  ${formatDuration(q.latency)}`,
    `Memory:   ${formatBytes(q.memoryUsage)}`,
    ...(q.error === undefined ? [] : [paint("red", `Error:    ${safe(q.error)}`)]),
    "",
    paint("bold", "Queue State"),
    table([...STATES], [STATES.map((s) => formatCount(q[s]))]),
    "",
    paint("bold", `Daily Stats ${q.timestamp.toISOString().slice(0, 10)} UTC`),
    table(
      ["processed", "failed", "error rate", "processed (all time)", "failed (all time)"],
      [
        [
          formatCount(q.processed),
          formatCount(q.failed),
          errorRate(q.processed, q.failed),
          formatCount(q.processedTotal),
          formatCount(q.failedTotal),
        ],
      ],
    ),
  ].join("\n");
}

/**
 * Runs `fn` on each queue named, printing one line per queue on success and the error's line on
 * stderr per failure; the exit code is 1 when any failed (as asynq, the others are still done).
 */
async function eachQueue(
  command: Command,
  queues: string[],
  fn: (inspector: Inspector, queue: string) => Promise<string>,
): Promise<void> {
  await withInspector(command, async (inspector) => {
    let failed = 0;
    for (const queue of queues) {
      try {
        println(await fn(inspector, queue));
      } catch (error) {
        if (isConnection(error)) throw error;
        failed++;
        process.stderr.write(`error: ${safe(describeError(error))}\n`);
      }
    }
    if (failed > 0) process.exitCode = 1;
  });
}

function isConnection(error: unknown): boolean {
  return error instanceof Error && (error as { code?: string }).code === "ERR_CONNECTION";
}

export function registerQueue(program: Command): void {
  const queue = program.command("queue").description("manage queues");

  queue
    .command("ls")
    .alias("list")
    .description("list the queues")
    .option("--json", "print JSON: an array of queue names")
    .action(async (flags: { json?: boolean }, command: Command) => {
      const names = await withInspector(command, (inspector) => inspector.queues());
      if (flags.json === true) printJson(names);
      else for (const name of names) println(safe(name));
    });

  queue
    .command("inspect")
    .description("show the details of queues")
    .argument("<queue...>", "queue names")
    .option("--json", "print JSON: an array of queue objects")
    .action(async (queues: string[], flags: { json?: boolean }, command: Command) => {
      const infos = await withInspector(command, (inspector) =>
        Promise.all(queues.map((q) => inspector.getQueueInfo(q))),
      );
      if (flags.json === true) printJson(infos.map(queueJson));
      else println(infos.map(inspectText).join("\n\n"));
    });

  queue
    .command("history")
    .description("show the daily processed and failed counts of queues, today first")
    .argument("<queue...>", "queue names")
    .option("-x, --days <n>", "how many days (1 to 3650)", "10")
    .option("--json", "print JSON: [{ queue, days: [{ date, processed, failed }] }]")
    .action(async (queues: string[], flags: { days: string; json?: boolean }, command: Command) => {
      const days = intFlag(flags.days, "--days", 1, 3650);
      const histories = await withInspector(command, (inspector) =>
        Promise.all(queues.map(async (q) => ({ queue: q, days: await inspector.history(q, days) }))),
      );
      if (flags.json === true) {
        printJson(histories);
        return;
      }
      println(
        histories
          .map(
            (h) =>
              `${paint("bold", `Queue: ${safe(h.queue)}`)}\n` +
              table(
                ["date (UTC)", "processed", "failed", "error rate"],
                h.days.map((d) => [
                  d.date,
                  formatCount(d.processed),
                  formatCount(d.failed),
                  errorRate(d.processed, d.failed),
                ]),
              ),
          )
          .join("\n\n"),
      );
    });

  queue
    .command("pause")
    .description("pause queues: servers stop processing their tasks")
    .argument("<queue...>", "queue names")
    .action(async (queues: string[], _flags: unknown, command: Command) => {
      await eachQueue(command, queues, async (inspector, q) => {
        await inspector.pauseQueue(q);
        return `Successfully paused queue "${safe(q)}"`;
      });
    });

  queue
    .command("unpause")
    .alias("resume")
    .description("resume paused queues")
    .argument("<queue...>", "queue names")
    .action(async (queues: string[], _flags: unknown, command: Command) => {
      await eachQueue(command, queues, async (inspector, q) => {
        await inspector.unpauseQueue(q);
        return `Successfully unpaused queue "${safe(q)}"`;
      });
    });

  queue
    .command("rm")
    .aliases(["remove", "delete"])
    .description("remove queues (refused when a queue holds tasks, unless --force)")
    .argument("<queue...>", "queue names")
    .option("-f, --force", "remove the queue's tasks too (refused while a task is active)")
    .action(async (queues: string[], flags: { force?: boolean }, command: Command) => {
      await eachQueue(command, queues, async (inspector, q) => {
        const removed = await inspector.deleteQueue(q, { force: flags.force === true });
        const tasks =
          removed.deletedTasks === 0 ? "" : ` (${formatCount(removed.deletedTasks)} tasks deleted)`;
        return `Successfully removed queue "${safe(q)}"${tasks}`;
      });
    });
}
