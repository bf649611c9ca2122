// `asynq-ts dash`: a live terminal dashboard, drawn with terminal-kit (a screen buffer redrawn by
// difference every refresh) from what the Inspector reads; the layout is dash-view.ts. Loaded only
// when `dash` runs, so no other command loads terminal-kit.
import type { Command } from "commander";
import termkit from "terminal-kit";
import type { Inspector } from "../index.js";
import { connectionOptions, globalFlags, openInspector } from "./connection.js";
import { renderDash, type DashModel, type Line } from "./dash-view.js";
import { CliError, describeError, EXIT } from "./fail.js";
import { STATES } from "./output.js";
import { parseDuration } from "./parse.js";

/** Reads what the current view shows. */
async function refresh(inspector: Inspector, model: DashModel, rows: number): Promise<void> {
  model.now = new Date();
  if (model.view === "queues") {
    model.queues = await inspector.getQueueInfos();
    model.selected = Math.min(model.selected, Math.max(0, model.queues.length - 1));
  } else if (model.view === "queue" && model.queue !== undefined) {
    const q = model.queue;
    const name = q.name;
    q.info = await inspector.getQueueInfo(name).catch((error: unknown) => {
      if ((error as { code?: string }).code === "ERR_QUEUE_NOT_FOUND") return null;
      throw error;
    });
    if (q.info === null) {
      q.tasks = [];
      q.groups = [];
    } else if (q.state === "aggregating") {
      q.groups = await inspector.listGroups(name);
    } else {
      q.tasks = await inspector.listTasks(name, q.state, { page: 1, size: Math.max(1, rows) });
      q.selected = Math.min(q.selected, Math.max(0, q.tasks.length - 1));
    }
  } else if (model.view === "servers") {
    [model.servers, model.workers] = await Promise.all([inspector.listServers(), inspector.listWorkers()]);
  } else if (model.view === "cron") {
    model.entries = await inspector.listSchedulerEntries();
  }
  delete model.error;
}

/** Draws the lines into the screen buffer, then the differences onto the terminal. */
function draw(buffer: termkit.ScreenBuffer, lines: Line[]): void {
  buffer.fill({ attr: { defaultColor: true, bgDefaultColor: true } });
  lines.forEach((line, y) => {
    let x = 0;
    for (const seg of line) {
      const attr: termkit.ScreenBuffer.Attributes = {};
      if (seg.bold === true) attr.bold = true;
      if (seg.inverse === true) attr.inverse = true;
      if (seg.dim === true) attr.dim = true;
      if (seg.color !== undefined) attr.color = seg.color;
      // "%s": the text is never read as a format string or markup.
      buffer.put({ x, y, attr, wrap: false, dx: 1, dy: 0 }, "%s", seg.text);
      x += seg.text.length;
    }
  });
  buffer.draw({ delta: true });
}

export async function runDash(command: Command, flags: { refresh: string }): Promise<void> {
  // Seconds (`1`, `0.5`) or a Go duration (`1s`, `500ms`, asynq's syntax).
  const text = flags.refresh.trim();
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : parseDuration(text);
  if (ms === null || ms < 100) {
    throw new CliError(
      `--refresh: expected at least 0.1 seconds (1, 0.5, 2s, 500ms), got ${JSON.stringify(flags.refresh)}`,
      EXIT.usage,
    );
  }
  if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) {
    throw new CliError("dash needs a terminal (stdin and stdout); use `stats --watch` otherwise");
  }
  const options = connectionOptions(globalFlags(command));
  const inspector = openInspector(command);
  // Fail before taking over the screen when Redis is not there.
  await inspector.queues();

  const term = termkit.terminal;
  const model: DashModel = {
    view: "queues",
    address: `${options.host ?? ""}:${options.port ?? 6379}/${options.db ?? 0}`,
    now: new Date(),
    queues: [],
    selected: 0,
    servers: [],
    workers: [],
    entries: [],
  };
  let buffer = new termkit.ScreenBuffer({ dst: term, width: term.width, height: term.height });
  const rows = (): number => term.height - 6;
  const render = (): void => draw(buffer, renderDash(model, term.width, term.height));

  let busy = false;
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      await refresh(inspector, model, rows());
    } catch (error) {
      model.error = describeError(error);
    } finally {
      busy = false;
    }
    render();
  };

  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const quit = (): void => {
    clearInterval(timer);
    term.grabInput(false);
    term.hideCursor(false);
    term.styleReset();
    term.fullscreen(false);
    done();
  };

  const onKey = (name: string): void => {
    const q = model.queue;
    switch (name) {
      case "q":
      case "CTRL_C":
        quit();
        return;
      case "s":
        model.view = "servers";
        break;
      case "c":
        model.view = "cron";
        break;
      case "u":
      case "ESCAPE":
      case "BACKSPACE":
        model.view = "queues";
        delete model.queue;
        break;
      case "UP":
      case "k":
        if (model.view === "queues") model.selected = Math.max(0, model.selected - 1);
        else if (q !== undefined) q.selected = Math.max(0, q.selected - 1);
        break;
      case "DOWN":
      case "j":
        if (model.view === "queues") model.selected = Math.min(model.queues.length - 1, model.selected + 1);
        else if (q !== undefined) q.selected = Math.min(q.tasks.length - 1, q.selected + 1);
        break;
      case "ENTER":
      case "KP_ENTER":
        if (model.view === "queues" && model.queues.length > 0) {
          const info = model.queues[model.selected] ?? null;
          model.view = "queue";
          model.queue = {
            name: info?.queue ?? "",
            info,
            state: "pending",
            tasks: [],
            groups: [],
            selected: 0,
          };
        }
        break;
      case "RIGHT":
      case "TAB":
      case "LEFT":
      case "SHIFT_TAB":
        if (q !== undefined) {
          const step = name === "RIGHT" || name === "TAB" ? 1 : STATES.length - 1;
          q.state = STATES[(STATES.indexOf(q.state) + step) % STATES.length]!;
          q.tasks = [];
          q.selected = 0;
        }
        break;
      default:
        return;
    }
    render();
    void tick();
  };

  term.fullscreen(true);
  term.hideCursor(true);
  term.grabInput(true);
  term.on("key", onKey);
  term.on("resize", (width: number, height: number) => {
    buffer = new termkit.ScreenBuffer({ dst: term, width, height });
    term.clear();
    render();
  });
  const timer = setInterval(() => void tick(), ms);
  await tick();
  await finished;
  await inspector.close().catch(() => {});
  // terminal-kit keeps stdin open; the dashboard is done.
  process.exit(process.exitCode ?? EXIT.ok);
}
