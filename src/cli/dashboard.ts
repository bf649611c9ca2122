// `asynq-ts dashboard`: the web dashboard (asynq-ts/dashboard) served standalone over HTTP until
// SIGINT or SIGTERM. Loaded only when the command runs (the bundle requires dist/dashboard.cjs).
import { createServer } from "node:http";
import type { Command } from "commander";
import { globalFlags, redisConnection } from "./connection.js";
import { CliError, EXIT } from "./fail.js";
import { closeOnSignal, listen, parsePort, serveOptions, type ServeFlags } from "./serve.js";

interface DashboardFlags extends ServeFlags {
  readOnly?: boolean;
  basicAuth?: string;
  basePath: string;
}

function parseBasicAuth(value: string | undefined): { username: string; password: string } | undefined {
  const raw = value ?? process.env.ASYNQ_DASHBOARD_BASIC_AUTH;
  if (raw === undefined) return undefined;
  const colon = raw.indexOf(":");
  if (colon < 1 || colon === raw.length - 1) {
    throw new CliError("invalid --basic-auth: expected user:password", EXIT.usage);
  }
  return { username: raw.slice(0, colon), password: raw.slice(colon + 1) };
}

export async function runDashboard(command: Command, flags: DashboardFlags): Promise<void> {
  const port = parsePort(flags.port);
  const basicAuth = parseBasicAuth(flags.basicAuth);
  const { createDashboard } = await import("../dashboard/index.js");
  const dashboard = createDashboard({
    redis: redisConnection(globalFlags(command)),
    readOnly: flags.readOnly === true,
    basePath: flags.basePath === "/" ? "" : flags.basePath,
    ...(basicAuth === undefined ? {} : { basicAuth }),
  });
  const server = createServer((req, res) => void dashboard(req, res));
  const url = await listen(server, port, flags.host);
  process.stdout.write(
    `asynq-ts dashboard on ${url}${dashboard.basePath}/` +
      `${flags.readOnly === true ? " (read-only)" : ""}${basicAuth === undefined ? "" : " (basic auth)"}\n`,
  );
  await closeOnSignal(server);
  await dashboard.close();
}

export function registerDashboard(program: Command): void {
  serveOptions(
    program.command("dashboard").description("serve the web dashboard over HTTP (until Ctrl-C)"),
    "8080",
  )
    .option("--read-only", "no mutating route and no mutating control")
    .option("--basic-auth <user:password>", "require HTTP basic auth (or set ASYNQ_DASHBOARD_BASIC_AUTH)")
    .option("--base-path <path>", "serve under this path, e.g. /admin", "")
    .action(async (flags: DashboardFlags, cmd: Command) => {
      await runDashboard(cmd, flags);
    });
}
