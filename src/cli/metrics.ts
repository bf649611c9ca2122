// `asynq-ts metrics`: a standalone Prometheus exporter of asynq's queue metrics (asynq-ts/metrics,
// the names and labels of asynq's x/metrics, as Go asynq's tools/metrics_exporter), served over HTTP
// at /metrics until SIGINT or SIGTERM. Loaded only when the command runs (the bundle requires
// dist/metrics.cjs, and prom-client, an optional peer dependency that must be installed).
import { createServer } from "node:http";
import type { Command } from "commander";
import type * as PromClient from "prom-client";
import { openInspector } from "./connection.js";
import { CliError, EXIT } from "./fail.js";
import { closeOnSignal, listen, parsePort, serveOptions, type ServeFlags } from "./serve.js";

interface MetricsFlags extends ServeFlags {
  queue?: string[];
}

/** prom-client, or a CliError saying how to install it. */
async function loadPromClient(): Promise<typeof PromClient> {
  try {
    return await import("prom-client");
  } catch {
    throw new CliError(
      "asynq-ts metrics needs prom-client (an optional peer dependency): npm install prom-client",
      EXIT.failure,
    );
  }
}

export async function runMetrics(command: Command, flags: MetricsFlags): Promise<void> {
  const port = parsePort(flags.port);
  const { Registry, collectDefaultMetrics } = await loadPromClient();
  const { registerQueueMetrics } = await import("../metrics/index.js");
  const inspector = openInspector(command);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerQueueMetrics(inspector, {
    registry,
    ...(flags.queue === undefined ? {} : { queues: flags.queue }),
  });
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" || path !== "/metrics") {
      res.writeHead(path === "/metrics" ? 405 : 404, { "content-type": "text/plain" });
      res.end(path === "/metrics" ? "method not allowed\n" : "not found: see /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": registry.contentType });
        res.end(text);
      },
      (error: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`cannot read the queues: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
  });
  const url = await listen(server, port, flags.host);
  process.stdout.write(`asynq-ts metrics on ${url}/metrics\n`);
  await closeOnSignal(server);
  await inspector.close();
}

export function registerMetrics(program: Command): void {
  serveOptions(
    program
      .command("metrics")
      .description(
        "serve asynq's queue metrics for Prometheus at /metrics (until Ctrl-C; needs prom-client)",
      ),
    "9876",
  )
    .option("--queue <name...>", "only these queues (default: every queue)")
    .action(async (flags: MetricsFlags, cmd: Command) => {
      await runMetrics(cmd, flags);
    });
}
