// Failures of the command line: one clear line on stderr and a non-zero exit code, never a stack trace.
import { AsynqError, ConnectionError } from "../index.js";
import { colourFor, paint, safe } from "./output.js";

/** Exit codes: 0 success, 1 failure (or, for doctor, findings), 2 bad usage (or, for doctor, an error). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A failure the command line explains itself: its message is the line printed. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** The one line that explains an error. */
export function describeError(error: unknown): string {
  if (error instanceof CliError) return error.message;
  if (error instanceof ConnectionError) return `cannot use Redis: ${error.message}`;
  if (error instanceof AsynqError) return error.message;
  if (error instanceof Error) return error.message.split("\n")[0] ?? error.name;
  return String(error);
}

/** Prints the error's line on stderr (terminal-safe) and sets the exit code. */
export function report(error: unknown, exitCode?: number): void {
  const line = safe(describeError(error));
  process.stderr.write(`${paint("red", "error:", colourFor(process.stderr))} ${line}\n`);
  process.exitCode = exitCode ?? (error instanceof CliError ? error.exitCode : EXIT.failure);
}
