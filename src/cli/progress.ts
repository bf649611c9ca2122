// A progress display on stderr: a bar redrawn in place on a terminal, else a line at most every
// second; the final count is always printed.
import { formatCount } from "./output.js";

const WIDTH = 30;

export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private lastLine = 0;
  private lastWidth = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  private text(done: number): string {
    const shown = Math.min(done, this.total);
    const ratio = this.total === 0 ? 1 : shown / this.total;
    const filled = Math.round(ratio * WIDTH);
    const bar = `[${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}]`;
    return `${this.label} ${bar} ${String(Math.floor(ratio * 100)).padStart(3)}% ${formatCount(shown)}/${formatCount(this.total)}`;
  }

  /** Shows the count so far. */
  update(done: number): void {
    const line = this.text(done);
    if (this.tty) {
      process.stderr.write(`\r${line.padEnd(this.lastWidth)}`);
      this.lastWidth = line.length;
    } else if (Date.now() - this.lastLine >= 1000) {
      this.lastLine = Date.now();
      process.stderr.write(`${line}\n`);
    }
  }

  /** Shows the final count and ends the line. */
  finish(done: number): void {
    const line = this.text(done);
    process.stderr.write(this.tty ? `\r${line.padEnd(this.lastWidth)}\n` : `${line}\n`);
  }
}
