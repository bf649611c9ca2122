// `asynq-ts task deleteall|archiveall|runall --queue Q --state S [--group G]`, with progress.
//
// The Inspector's bulk operations work in batches of 200 tasks, each one Lua script call that Redis
// applies whole (src/broker/admin/mutate.ts). The command runs one and polls the size of the state
// meanwhile to show progress. Ctrl-C closes the connection: the batch in flight is applied whole or
// not at all, the next is never sent, so every task is either done or untouched; then the exact
// count is read back and printed, and the exit code is 130.
import type { Command } from "commander";
import type { Inspector, TaskState } from "../index.js";
import { openInspector } from "./connection.js";
import { CliError, EXIT } from "./fail.js";
import { formatCount, printJson, println, safe } from "./output.js";
import { Progress } from "./progress.js";
import { stateFlag } from "./task.js";

type Op = "delete" | "archive" | "run";

const VERBS: Record<Op, { doing: string; done: string; states: readonly TaskState[] }> = {
  delete: {
    doing: "deleting",
    done: "deleted",
    states: ["pending", "scheduled", "retry", "archived", "completed", "aggregating"],
  },
  archive: {
    doing: "archiving",
    done: "archived",
    states: ["pending", "scheduled", "retry", "completed", "aggregating"],
  },
  run: {
    doing: "running",
    done: "moved to pending",
    states: ["scheduled", "retry", "archived", "completed", "aggregating"],
  },
};

const POLL_MS = 100;

/** How many tasks the state holds now (of the group, for aggregating). */
async function sizeOf(
  inspector: Inspector,
  queue: string,
  state: TaskState,
  group: string | undefined,
): Promise<number> {
  if (state === "aggregating") {
    const groups = await inspector.listGroups(queue);
    return groups.find((g) => g.group === group)?.size ?? 0;
  }
  const sizes = await inspector.queueSizes(queue);
  return sizes[state];
}

interface BulkFlags {
  queue: string;
  state: string;
  group?: string;
  json?: boolean;
  progress?: boolean;
}

async function runBulk(op: Op, flags: BulkFlags, command: Command): Promise<void> {
  const state = stateFlag(flags.state);
  const verbs = VERBS[op];
  if (!verbs.states.includes(state)) {
    throw new CliError(
      `--state: cannot ${op} all ${state} tasks (allowed: ${verbs.states.join(", ")})`,
      EXIT.usage,
    );
  }
  if (state === "aggregating" && flags.group === undefined) {
    throw new CliError("--group is required for aggregating tasks", EXIT.usage);
  }
  const { queue, group } = flags;
  const inspector = openInspector(command);
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write("\ninterrupted: stopping after the batch in flight...\n");
    void inspector.close();
  };
  let total: number;
  let acted: number | undefined;
  try {
    total = await sizeOf(inspector, queue, state, group);
    const progress =
      flags.progress === false
        ? null
        : new Progress(`${verbs.doing} ${state} tasks of "${safe(queue)}"`, total);
    progress?.update(0);
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const running =
      op === "delete"
        ? inspector.deleteAllTasks(queue, state, group)
        : op === "archive"
          ? inspector.archiveAllTasks(queue, state, group)
          : inspector.runAllTasks(queue, state, group);
    let finished = false;
    const poll = (async () => {
      while (!finished && !interrupted) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        if (finished || interrupted) break;
        const left = await sizeOf(inspector, queue, state, group).catch(() => null);
        if (left !== null && !finished) progress?.update(Math.max(0, total - left));
      }
    })();
    try {
      acted = await running;
    } catch (error) {
      if (!interrupted) throw error;
    } finally {
      finished = true;
      await poll;
    }
    if (acted !== undefined) progress?.finish(acted);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await inspector.close().catch(() => {});
  }
  if (interrupted) {
    // Read back what was done on a new connection (the first was closed to stop the operation).
    const after = openInspector(command);
    try {
      const left = await sizeOf(after, queue, state, group);
      const done = Math.max(0, total - left);
      process.stderr.write(
        `interrupted: ${formatCount(done)} of ${formatCount(total)} ${state} tasks ${verbs.done}; the other ${formatCount(left)} are untouched\n`,
      );
    } finally {
      await after.close().catch(() => {});
    }
    process.exitCode = 130;
    return;
  }
  if (flags.json === true)
    printJson({
      queue,
      state,
      ...(group === undefined ? {} : { group }),
      [op === "run" ? "ran" : `${op}d`]: acted,
    });
  else println(`${formatCount(acted ?? 0)} ${state} tasks of queue "${safe(queue)}" ${verbs.done}`);
}

export function registerBulk(task: Command): void {
  const add = (name: string, op: Op, description: string): void => {
    task
      .command(name)
      .description(description)
      .requiredOption("-q, --queue <queue>", "the queue")
      .requiredOption("-s, --state <state>", `the state: ${VERBS[op].states.join(", ")}`)
      .option("-g, --group <group>", "the group (required for aggregating tasks)")
      .option("--no-progress", "do not show progress on stderr")
      .option("--json", "print JSON: { queue, state, group?, <deleted|archived|ran>: count }")
      .action((flags: BulkFlags, command: Command) => runBulk(op, flags, command));
  };
  add("deleteall", "delete", "delete every task of a state (Ctrl-C stops cleanly)");
  add("archiveall", "archive", "archive every task of a state (Ctrl-C stops cleanly)");
  add("runall", "run", "move every task of a state to pending (Ctrl-C stops cleanly)");
}
