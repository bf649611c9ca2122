// `asynq-ts task enqueue --type T [payload] [options]`: enqueues one task with the Client, every
// EnqueueOptions option available as a flag.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { EnqueueOptions } from "../index.js";
import { withClient } from "./connection.js";
import { CliError, EXIT } from "./fail.js";
import { taskJson } from "./json.js";
import { formatTime, printJson, println, safe } from "./output.js";
import { collectPair, durationFlag, instantFlag, intFlag } from "./parse.js";

interface EnqueueFlags {
  type: string;
  payload?: string;
  payloadFile?: string;
  payloadHex?: string;
  queue?: string;
  maxRetry?: string;
  timeout?: string;
  deadline?: string;
  processAt?: string;
  processIn?: string;
  unique?: string;
  taskId?: string;
  retention?: string;
  group?: string;
  header?: Record<string, string>;
  json?: boolean;
}

function payloadOf(flags: EnqueueFlags): Uint8Array | undefined {
  const given = [flags.payload, flags.payloadFile, flags.payloadHex].filter((v) => v !== undefined);
  if (given.length > 1)
    throw new CliError("give at most one of --payload, --payload-file, --payload-hex", EXIT.usage);
  if (flags.payload !== undefined) return Buffer.from(flags.payload, "utf8");
  if (flags.payloadHex !== undefined) {
    const hex = flags.payloadHex.replace(/^0x/i, "");
    if (!/^([0-9a-f]{2})*$/i.test(hex))
      throw new CliError("--payload-hex: expected an even number of hex digits", EXIT.usage);
    return Buffer.from(hex, "hex");
  }
  if (flags.payloadFile !== undefined) {
    try {
      return readFileSync(flags.payloadFile === "-" ? 0 : flags.payloadFile);
    } catch (cause) {
      throw new CliError(`--payload-file: cannot read ${flags.payloadFile}: ${(cause as Error).message}`);
    }
  }
  return undefined;
}

function optionsOf(flags: EnqueueFlags): EnqueueOptions {
  const options: EnqueueOptions = {};
  if (flags.queue !== undefined) options.queue = flags.queue;
  if (flags.maxRetry !== undefined) options.maxRetry = intFlag(flags.maxRetry, "--max-retry", 0, 2 ** 31 - 1);
  if (flags.timeout !== undefined) options.timeout = durationFlag(flags.timeout, "--timeout");
  if (flags.deadline !== undefined) options.deadline = instantFlag(flags.deadline, "--deadline");
  if (flags.processAt !== undefined) options.processAt = instantFlag(flags.processAt, "--process-at");
  if (flags.processIn !== undefined) options.processIn = durationFlag(flags.processIn, "--process-in");
  if (flags.unique !== undefined) options.unique = durationFlag(flags.unique, "--unique");
  if (flags.taskId !== undefined) options.taskId = flags.taskId;
  if (flags.retention !== undefined) options.retention = durationFlag(flags.retention, "--retention");
  if (flags.group !== undefined) options.group = flags.group;
  if (flags.header !== undefined) options.headers = flags.header;
  return options;
}

export function registerEnqueue(task: Command): void {
  task
    .command("enqueue")
    .description("enqueue a task")
    .requiredOption("-t, --type <type>", "the task type")
    .option("--payload <text>", "payload as UTF-8 text (e.g. JSON)")
    .option("--payload-file <file>", "payload read from a file as bytes (- for stdin)")
    .option("--payload-hex <hex>", "payload as hex bytes")
    .option("-q, --queue <queue>", "the queue (default: default)")
    .option("--max-retry <n>", "retries before the task is archived (default: 25)")
    .option("--timeout <duration>", "time limit of one attempt, e.g. 30s, 5m (default: 30m)")
    .option("--deadline <time>", "deadline of the task, RFC 3339 or unix seconds")
    .option("--process-at <time>", "process no earlier than this time, RFC 3339 or unix seconds")
    .option("--process-in <duration>", "process no earlier than this long from now, e.g. 10m")
    .option("--unique <duration>", "reject duplicates (same queue, type, payload) for this long")
    .option("--task-id <id>", "the task ID (default: a random UUID)")
    .option("--retention <duration>", "keep the task as completed this long after success")
    .option("-g, --group <group>", "the group, for aggregation")
    .option("-H, --header <key=value>", "a header (repeatable)", collectPair)
    .option("--json", "print JSON: the task object")
    .action(async (flags: EnqueueFlags, command: Command) => {
      const payload = payloadOf(flags);
      const options = optionsOf(flags);
      const info = await withClient(command, (client) =>
        client.enqueue({ type: flags.type, ...(payload === undefined ? {} : { payload }) }, options),
      );
      if (flags.json === true) {
        printJson(taskJson(info));
        return;
      }
      const when = info.state === "scheduled" ? ` to run at ${formatTime(info.nextProcessAt)}` : "";
      println(`Enqueued task ${safe(info.id)} (${info.state}) in queue "${safe(info.queue)}"${when}`);
    });
}
