#!/usr/bin/env node
// The `asynq-ts` command line (dist/cli.cjs, the package's bin): asynq's CLI commands over the
// Inspector, the Client and the doctor, with --json on every read command, and a live dashboard.
// Its own bundle: `import "asynq-ts"` never loads it or its dependencies (commander, terminal-kit).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { addConnectionFlags } from "./connection.js";
import { registerCron } from "./cron.js";
import { registerDashboard } from "./dashboard.js";
import { registerDoctor } from "./doctor.js";
import { registerEnqueue } from "./enqueue.js";
import { EXIT, report } from "./fail.js";
import { registerGroup } from "./group.js";
import { registerMetrics } from "./metrics.js";
import { safe } from "./output.js";
import { registerQueue } from "./queue.js";
import { registerServer } from "./server.js";
import { registerStats } from "./stats.js";
import { registerTask } from "./task.js";
import { registerBulk } from "./task-bulk.js";

/** The package's version, from the nearest package.json named asynq-ts above this file. */
function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "asynq-ts" && pkg.version !== undefined) return pkg.version;
    }
    dir = dirname(dir);
  }
  return "unknown";
}

/** Every line written by commander (usage errors echo the input), made terminal-safe. */
function safeLines(text: string): string {
  return text
    .split("\n")
    .map((line) => safe(line))
    .join("\n");
}

export function buildProgram(): Command {
  const program = addConnectionFlags(new Command("asynq-ts"))
    .description("Inspect and manage asynq queues, tasks, servers and schedulers (Go's asynq and asynq-ts)")
    .version(version(), "-v, --version")
    .showSuggestionAfterError()
    .configureOutput({ writeErr: (text) => process.stderr.write(safeLines(text)) })
    .exitOverride();

  registerStats(program);
  registerQueue(program);
  const task = program.command("task").description("manage tasks");
  registerTask(task);
  registerBulk(task);
  registerEnqueue(task);
  registerGroup(program);
  registerServer(program);
  registerCron(program);
  registerDoctor(program);
  registerDashboard(program);
  registerMetrics(program);
  program
    .command("dash")
    .description("a live terminal dashboard of queues, tasks, servers and scheduler entries")
    .option("-r, --refresh <interval>", "refresh interval: seconds or a duration (2s, 500ms)", "1")
    .action(async (flags: { refresh: string }, command: Command) => {
      const { runDash } = await import("./dash.js");
      await runDash(command, flags);
    });

  // Every subcommand inherits the error handling (exitOverride, safe output).
  const inherit = (command: Command): void => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput({ writeErr: (text) => process.stderr.write(safeLines(text)) });
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version exit 0; commander has already printed its one-line error otherwise.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    report(error);
  }
}

process.on("unhandledRejection", (error) => {
  report(error);
  process.exit(process.exitCode ?? EXIT.failure);
});

void main();
