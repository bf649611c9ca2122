// Command-line flags of bench/run.ts.

/** Parsed flags. */
export interface Args {
  smoke: boolean;
  rounds: number;
  /** Scenario names to run; empty = all. */
  scenarios: string[];
  /** Tasks of every processing scenario (overrides the sizes of --smoke or a full run). */
  tasks: number | undefined;
  /** Write V8 CPU profiles of the worker children (bench/results/profiles/). */
  cpuProf: boolean;
  /** BullMQ workers delete each job on completion, as asynq-ts does (default: BullMQ's, keep it). */
  bullRemoveOnComplete: boolean;
  /** asynq-ts workers run with server metrics (prom-client) and tracing (OpenTelemetry) on. */
  observe: boolean;
  /** Where to write the JSON of every figure. */
  out: string | undefined;
  /** Print the table of a saved JSON instead of running. */
  report: string | undefined;
  help: boolean;
}

export const USAGE = `Usage: npm run bench [-- flags]   (or: npx tsx bench/run.ts [flags])

  --smoke            one round, tiny counts, without process-10x5 (CI): about 25 s
  --rounds N         rounds of A B (default 3; 1 with --smoke)
  --scenario a,b     only these scenarios (see the list below); repeatable
  --tasks N          tasks of every processing scenario (process-*), instead of 100k (500 with --smoke)
  --cpu-prof         write a V8 CPU profile of every worker child to bench/results/profiles/
  --bull-remove-on-complete
                     BullMQ workers delete each job on completion (removeOnComplete: { count: 0 }),
                     as asynq-ts deletes a task on success; default: BullMQ's default (keep it)
  --observe          asynq-ts workers register the server metrics (asynq-ts/metrics) and the tracing
                     middleware (asynq-ts/otel, SDK tracer, spans batched and dropped): their cost
  --out FILE         JSON output (default bench/results/latest.json, smoke: bench/results/smoke.json)
  --report FILE      print the table of a saved JSON again (no run)
  --help             this text`;

/**
 * Parses `argv` (without node and the script).
 * @throws Error for an unknown flag or a bad value.
 */
export function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    smoke: false,
    rounds: 0,
    scenarios: [],
    tasks: undefined,
    cpuProf: false,
    bullRemoveOnComplete: false,
    observe: false,
    out: undefined,
    report: undefined,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.includes("=") ? flag.split("=", 2) : [flag, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case "--smoke":
        args.smoke = true;
        break;
      case "--rounds": {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > 100)
          throw new Error("--rounds must be an integer from 1 to 100");
        args.rounds = n;
        break;
      }
      case "--scenario":
        args.scenarios.push(
          ...value()
            .split(",")
            .filter((s) => s !== ""),
        );
        break;
      case "--tasks": {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1 || n > 10_000_000)
          throw new Error("--tasks must be an integer from 1 to 10,000,000");
        args.tasks = n;
        break;
      }
      case "--cpu-prof":
        args.cpuProf = true;
        break;
      case "--bull-remove-on-complete":
        args.bullRemoveOnComplete = true;
        break;
      case "--observe":
        args.observe = true;
        break;
      case "--out":
        args.out = value();
        break;
      case "--report":
        args.report = value();
        break;
      case "--help":
      case "-h":
        args.help = true;
        break;
      default:
        throw new Error(`unknown flag ${flag}\n${USAGE}`);
    }
  }
  if (args.rounds === 0) args.rounds = args.smoke ? 1 : 3;
  return args;
}
