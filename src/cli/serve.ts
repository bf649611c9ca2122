// HTTP from the command line (`dashboard`, `metrics`): the `--port` and `--host` options, parse the
// port, listen, and serve until Ctrl-C or SIGTERM.
import type { Server } from "node:http";
import type { Command } from "commander";
import { CliError, EXIT } from "./fail.js";

/** The flags {@link serveOptions} adds, as commander hands them to the action. */
export interface ServeFlags {
  port: string;
  host: string;
}

/**
 * Adds `--port <port>` (default `port`; 0: any free port) and `--host <host>` (default 127.0.0.1) to
 * a command that serves HTTP; parse the port with {@link parsePort}.
 * @returns the command, for more options.
 */
export function serveOptions(command: Command, port: string): Command {
  return command
    .option("--port <port>", "port to listen on (0: any free port)", port)
    .option("--host <host>", "address to listen on", "127.0.0.1");
}

/**
 * The value of `--port`: an integer from 0 (any free port) to 65535.
 * @throws CliError (usage) for anything else.
 */
export function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) {
    throw new CliError(`invalid --port ${JSON.stringify(value)}: an integer from 0 to 65535`, EXIT.usage);
  }
  return Number(value);
}

/**
 * Listens on `host`:`port` and returns the base URL it serves on (`http://host:port`, the bound port
 * when `port` is 0; an IPv6 host in brackets).
 * @throws the listen error (address in use, no such address).
 */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === "object" && address !== null ? address.port : port;
  return `http://${host.includes(":") ? `[${host}]` : host}:${bound}`;
}

/** Resolves once SIGINT or SIGTERM has closed the server (open connections are cut, not waited for). */
export function closeOnSignal(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
