// `asynq-ts server ls` (asynq's `server ls`).
import type { Command } from "commander";
import { withInspector } from "./connection.js";
import { serverJson } from "./json.js";
import { formatRelative, paint, printJson, printTable, safe, truncate } from "./output.js";

/** Queue → priority as asynq prints it: `critical:6 default:3`. */
function queuesText(queues: Record<string, number>): string {
  return Object.entries(queues)
    .sort(([, a], [, b]) => b - a)
    .map(([q, p]) => `${safe(q)}:${p}`)
    .join(" ");
}

export function registerServer(program: Command): void {
  program
    .command("server")
    .description("inspect servers")
    .command("ls")
    .alias("list")
    .description("list the running servers (Go's and ours)")
    .option("--json", "print JSON: an array of server objects")
    .action(async (flags: { json?: boolean }, command: Command) => {
      const servers = await withInspector(command, (inspector) => inspector.listServers());
      if (flags.json === true) {
        printJson(servers.map(serverJson));
        return;
      }
      const now = Date.now();
      printTable(
        ["Host", "PID", "State", "Active Workers", "Queues", "Started"],
        servers.map((s) => [
          safe(s.host),
          String(s.pid),
          s.status === "active" ? paint("green", s.status) : paint("yellow", safe(s.status)),
          `${s.activeWorkerCount}/${s.concurrency}`,
          truncate(queuesText(s.queues), 40),
          formatRelative(s.startedAt, now),
        ]),
        "No running servers.",
      );
    });
}
