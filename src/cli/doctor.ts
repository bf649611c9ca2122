// `asynq-ts doctor [--fix] [--queue Q]... [--json]`: the `asynq-ts/doctor` audit from the command
// line. Exit codes: 0 clean, 1 findings (with --fix: findings not all repaired), 2 error.
import type { Command } from "commander";
import { doctor, formatReport, type DoctorReport, type IssueCounts } from "../doctor/index.js";
import { globalFlags, redisConnection } from "./connection.js";
import { CliError, EXIT } from "./fail.js";
import { printJson, println, safe } from "./output.js";
import { intFlag } from "./parse.js";

/** Every finding was repaired (none skipped, failed or left unrepairable). */
function allRepaired(report: DoctorReport): boolean {
  const counts: IssueCounts[] = [report.globalCounts, ...report.queues.map((q) => q.counts)];
  const found = counts.reduce((n, c) => n + Object.values(c.byKind).reduce((m, k) => m + (k ?? 0), 0), 0);
  const repaired = counts.reduce((n, c) => n + c.repaired, 0);
  return found === repaired;
}

interface DoctorFlags {
  fix?: boolean;
  queue?: string[];
  json?: boolean;
  batch?: string;
  limit?: string;
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description(
      "audit the asynq data for broken invariants; repair them with --fix (exit 0 clean, 1 findings, 2 error)",
    )
    .option("--fix", "repair what is safe to repair (each repair re-verifies its finding)")
    .option(
      "-q, --queue <queue>",
      "audit only this queue (repeatable; skips the global checks)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--batch <n>", "keys per SCAN and pipeline", "500")
    .option("--limit <n>", "findings listed per kind (all are counted)", "100")
    .option("--json", "print the report as JSON (the DoctorReport object of asynq-ts/doctor)")
    .action(async (flags: DoctorFlags, command: Command) => {
      try {
        const report = await doctor(redisConnection(globalFlags(command)), {
          fix: flags.fix === true,
          batch: intFlag(flags.batch ?? "500", "--batch", 1),
          limit: intFlag(flags.limit ?? "100", "--limit", 1),
          ...(flags.queue === undefined ? {} : { queues: flags.queue }),
        });
        if (flags.json === true) printJson(report);
        else println(formatReport(report).split("\n").map(safe).join("\n"));
        process.exitCode = report.clean || (report.fix && allRepaired(report)) ? EXIT.ok : EXIT.failure;
      } catch (error) {
        // Doctor's contract: 2 for an error, whatever it is.
        throw error instanceof CliError ? new CliError(error.message, EXIT.usage) : asDoctorError(error);
      }
    });
}

/** Wraps an error so that it exits 2 (the doctor's error code). */
function asDoctorError(error: unknown): CliError {
  const wrapped = new CliError(error instanceof Error ? error.message : String(error), EXIT.usage);
  if (error instanceof Error && (error as { code?: string }).code === "ERR_CONNECTION") {
    return new CliError(`cannot use Redis: ${error.message}`, EXIT.usage);
  }
  return wrapped;
}
