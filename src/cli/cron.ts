// `asynq-ts cron ls` and `cron history ENTRY...` (asynq's `cron` commands).
import type { Command } from "commander";
import { withInspector } from "./connection.js";
import { entryJson } from "./json.js";
import {
  formatRelative,
  formatTime,
  paint,
  payloadText,
  printJson,
  printTable,
  println,
  safe,
  truncate,
} from "./output.js";
import { intFlag } from "./parse.js";

export function registerCron(program: Command): void {
  const cron = program.command("cron").description("inspect scheduler entries (periodic tasks)");
  cron
    .command("ls")
    .alias("list")
    .description("list the scheduler entries")
    .option("--json", "print JSON: an array of entry objects")
    .action(async (flags: { json?: boolean }, command: Command) => {
      const entries = await withInspector(command, (inspector) => inspector.listSchedulerEntries());
      if (flags.json === true) {
        printJson(entries.map(entryJson));
        return;
      }
      const now = Date.now();
      printTable(
        ["EntryID", "Spec", "Type", "Payload", "Options", "Next", "Prev"],
        entries.map((e) => [
          safe(e.id),
          safe(e.spec),
          safe(e.taskType),
          truncate(payloadText(e.payload), 30),
          truncate(safe(e.rawOptions.join(", ")), 30),
          formatRelative(e.next, now),
          e.prev === null ? "never" : formatRelative(e.prev, now),
        ]),
        "No scheduler entries.",
      );
    });

  cron
    .command("history")
    .description("show the recent enqueues of scheduler entries, newest first")
    .argument("<entry...>", "entry IDs")
    .option("--page <n>", "page number, from 1", "1")
    .option("--size <n>", "events per page, 1 to 10000", "30")
    .option("--json", "print JSON: [{ entry, events: [{ taskId, enqueuedAt }] }]")
    .action(
      async (ids: string[], flags: { page: string; size: string; json?: boolean }, command: Command) => {
        const page = intFlag(flags.page, "--page", 1);
        const size = intFlag(flags.size, "--size", 1, 10_000);
        const histories = await withInspector(command, (inspector) =>
          Promise.all(
            ids.map(async (id) => ({
              entry: id,
              events: await inspector.listSchedulerEnqueueEvents(id, { page, size }),
            })),
          ),
        );
        if (flags.json === true) {
          printJson(
            histories.map((h) => ({
              entry: h.entry,
              events: h.events.map((e) => ({ taskId: e.taskId, enqueuedAt: e.enqueuedAt.toISOString() })),
            })),
          );
          return;
        }
        println(
          histories
            .map(
              (h) =>
                `${paint("bold", `Entry: ${safe(h.entry)}`)}\n` +
                (h.events.length === 0
                  ? "No enqueues."
                  : h.events.map((e) => `${formatTime(e.enqueuedAt)}  ${safe(e.taskId)}`).join("\n")),
            )
            .join("\n\n"),
        );
      },
    );
}
