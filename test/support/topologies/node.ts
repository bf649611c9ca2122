// One server process of a test topology (redis-server, redis-server --sentinel, valkey-server): started
// on a loopback port we own, in a temporary directory, with no persistence, and stopped (SIGTERM, or
// SIGKILL to simulate a crash) by its handle or, as a last resort, when the test process exits.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findOnPath } from "../../../tools/redis.js";

/** How redis-cli reaches a TLS port: the CA that signed the server's certificate. */
export interface CliTls {
  caFile: string;
}

/** A running server of a topology. */
export interface NodeProcess {
  readonly port: number;
  /** Its private directory (configuration files, cluster state); removed by stop(). */
  readonly dir: string;
  readonly running: boolean;
  /** Stops it and waits for the process to exit (SIGKILL: a crash, nothing is flushed). */
  stop: (signal?: "SIGTERM" | "SIGKILL") => Promise<void>;
}

/** Processes still running, killed when the test process exits. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** The path of a server binary, or an Error that says how to install it. */
export function binary(name: "redis-server" | "redis-cli" | "valkey-server"): string {
  const path = findOnPath(name);
  if (path !== undefined) return path;
  const hint =
    name === "valkey-server"
      ? "run .ci/install-valkey.sh as root (Debian bookworm-backports)"
      : "apt-get install -y redis-server";
  throw new Error(`${name} is not installed: ${hint}`);
}

/** The arguments every node gets: loopback only, no RDB snapshots, no AOF, its own directory. */
export function baseArgs(port: number, dir: string): string[] {
  return ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
}

/** A fresh temporary directory for one node. */
export function nodeDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `asynq-ts-${label}-`));
}

/**
 * Starts `command args` (the directory made by nodeDir) and waits until `redis-cli PING` answers on
 * `port` (over TLS when `tls` is given).
 * @throws Error with the process's last output when it exits at start or does not answer within 10 s.
 */
export async function startNode(
  command: string,
  args: readonly string[],
  port: number,
  dir: string,
  tls?: CliTls,
): Promise<NodeProcess> {
  // A server left over on the port would answer our PING and stand in for the one we start.
  if (cli(port, ["PING"], tls) !== "" || cli(port, ["PING"]) !== "") {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`port ${port} is in use: stop what listens there (e.g. a server left by an earlier run)`);
  }
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  let output = "";
  const keep = (chunk: Buffer): void => void (output = (output + chunk.toString()).slice(-4000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  void exited.then(() => live.delete(child));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> => {
    if (running()) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      () => {
        if (!running()) throw new Error(`exited at start (code ${child.exitCode})`);
        return cli(port, ["PING"], tls) === "PONG";
      },
      `${command} on port ${port} to answer PING`,
      10_000,
    );
  } catch (error) {
    await stop("SIGKILL");
    throw new Error(`${String(error)}; output: ${output}`);
  }
  return {
    port,
    dir,
    get running() {
      return running();
    },
    stop,
  };
}

/** Runs redis-cli against a loopback port and returns its trimmed output ("" when it fails). */
export function cli(port: number, args: readonly string[], tls?: CliTls): string {
  const tlsArgs = tls === undefined ? [] : ["--tls", "--cacert", tls.caFile];
  const result = spawnSync(
    binary("redis-cli"),
    ["-h", "127.0.0.1", "-p", String(port), ...tlsArgs, ...args],
    {
      encoding: "utf8",
      timeout: 10_000,
    },
  );
  return result.status === 0 ? result.stdout.trim() : "";
}

/**
 * Polls `check` every 100 ms until it returns true.
 * @throws Error naming `what` after `timeoutMs`, or the error `check` throws.
 */
export async function waitFor(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
