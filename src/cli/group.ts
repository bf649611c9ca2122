// `asynq-ts group ls --queue Q` (asynq's `group ls`).
import type { Command } from "commander";
import { withInspector } from "./connection.js";
import { printJson, printTable, safe } from "./output.js";

export function registerGroup(program: Command): void {
  program
    .command("group")
    .description("inspect groups (task aggregation)")
    .command("ls")
    .alias("list")
    .description("list the groups of a queue with their sizes")
    .requiredOption("-q, --queue <queue>", "the queue")
    .option("--json", "print JSON: [{ group, size }]")
    .action(async (flags: { queue: string; json?: boolean }, command: Command) => {
      const groups = await withInspector(command, (inspector) => inspector.listGroups(flags.queue));
      if (flags.json === true) printJson(groups);
      else
        printTable(
          ["Group", "Size"],
          groups.map((g) => [safe(g.group), String(g.size)]),
          `No groups in queue "${safe(flags.queue)}".`,
        );
    });
}
