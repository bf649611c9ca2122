// Support of the tests of the command line's HTTP commands (`dashboard`, `metrics`): the built binary
// (support.ts) started as a child process on a free port of this worker's Redis DB, the URL it prints
// read back, and a stop that sends SIGINT as Ctrl-C would.
import { spawn } from "node:child_process";
import { testRedisUrl } from "../support/redis.js";
import { builtCli } from "./support.js";

/** A serving command that is running. */
export interface Serving {
  /** The URL of its first line of stdout (`… on <url>`), without a trailing slash. */
  url: string;
  /** Sends SIGINT; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `asynq-ts <command> --port 0 <args>`; resolves once it printed where it serves.
 * @throws when it exits first (with its stderr).
 */
export async function startServing(command: string, args: string[]): Promise<Serving> {
  const cli = await builtCli();
  const child = spawn(process.execPath, [cli, command, "--port", "0", ...args], {
    env: { ...process.env, REDIS_URL: testRedisUrl() },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /on (http:\/\/\S+?)\/?(\s|$)/.exec(out);
      if (m !== null) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
  return {
    url,
    stop: async () => {
      child.kill("SIGINT");
      return exited;
    },
  };
}
