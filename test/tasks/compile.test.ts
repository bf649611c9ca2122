// Compile-time safety of typed tasks: a file that enqueues a wrong payload for a defined task fails
// `tsc`, with the error on that line; the same file with right payloads compiles. The files are
// type-checked with the TypeScript compiler API against the library's source, as a user's module
// importing "asynq-ts" would be (they are strings, not files: a file with errors would break tsc -p).
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface Diagnostic {
  /** 1-based. */
  line: number;
  message: string;
}

/**
 * Type-checks each of `files` (name → code) as an ES module of the repository, in one program, and
 * returns each file's own diagnostics (checking the whole library too would take ten times longer).
 * The compiler runs in a worker thread: a check takes seconds, and would otherwise block the test
 * worker's event loop (and its reports to vitest) all that time.
 */
function typeCheck(files: Record<string, string>): Promise<Record<string, Diagnostic[]>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(CHECKER, { eval: true, workerData: { root: ROOT, files } });
    worker.once("message", (result: Record<string, Diagnostic[]>) => resolve(result));
    worker.once("error", reject);
  });
}

/** The worker of {@link typeCheck} (CommonJS, run with `eval`). */
const CHECKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { join } = require("node:path");
const ts = require("typescript");
const { root, files } = workerData;
const read = ts.readConfigFile(join(root, "tsconfig.json"), (f) => ts.sys.readFile(f));
const options = {
  ...ts.parseJsonConfigFileContent(read.config, ts.sys, root).options,
  noEmit: true,
  declaration: false,
  sourceMap: false,
  baseUrl: root,
  paths: { "asynq-ts": ["src/index.ts"], "asynq-ts/testing": ["src/testing/index.ts"] },
};
const fileOf = (name) => join(root, ".snippets", name + ".mts");
const virtual = new Map(Object.entries(files).map(([name, code]) => [fileOf(name), code]));
const host = ts.createCompilerHost(options);
const real = { ...host };
host.fileExists = (f) => virtual.has(f) || real.fileExists(f);
host.readFile = (f) => virtual.get(f) ?? real.readFile(f);
host.getSourceFile = (f, language, ...rest) => {
  const code = virtual.get(f);
  return code === undefined ? real.getSourceFile(f, language, ...rest) : ts.createSourceFile(f, code, language, true);
};
const program = ts.createProgram([...virtual.keys()], options, host);
const out = {};
for (const name of Object.keys(files)) {
  const source = program.getSourceFile(fileOf(name));
  out[name] = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map((d) => ({
    line: source.getLineAndCharacterOfPosition(d.start).line + 1,
    message: ts.flattenDiagnosticMessageText(d.messageText, "\\n"),
  }));
}
parentPort.postMessage(out);
`;

/** The 1-based numbers of the lines that end with `// ✗`. */
const markedLines = (code: string): number[] =>
  code.split("\n").flatMap((line, i) => (line.trimEnd().endsWith("// ✗") ? [i + 1] : []));

const PREAMBLE = `import { z } from "zod";
import { Client, ServeMux, defineTask } from "asynq-ts";
import { RecordingClient } from "asynq-ts/testing";

const client = new Client("redis://127.0.0.1:6379");
const recording = new RecordingClient();
const mux = new ServeMux();
const welcome = defineTask<{ userId: number; email: string }>("email:welcome");
const resize = defineTask<{ width: number }, { bytes: number }>("image:resize");
const checked = defineTask("user:check", { schema: z.object({ id: z.string().uuid() }) });
const ping = defineTask<void>("ping");
`;

const GOOD = `${PREAMBLE}
await client.enqueue(welcome, { userId: 42, email: "a@example.com" });
await client.enqueue(welcome, { userId: 42, email: "a@example.com" }, { queue: "critical" });
await client.enqueue(checked, { id: "0b5b9f8e-6a53-4d6c-9f0c-2f2b0f5a8e11" });
await client.enqueue(ping);
await client.enqueue({ type: "plain", payload: { anything: true } });
await client.enqueueBatch([welcome.task({ userId: 1, email: "b@example.com" }), ping.task()]);
await recording.enqueue(welcome, { userId: 7, email: "c@example.com" });
mux.handle(welcome, async ({ userId, email }) => {
  const n: number = userId;
  const s: string = email;
  void [n, s];
});
mux.handle(resize, async (payload) => ({ bytes: payload.width * 2 }));
mux.handle(checked, (payload) => void payload.id.toUpperCase());
`;

const BAD = `${PREAMBLE}
await client.enqueue(welcome, { userId: "42", email: "a@example.com" }); // ✗
await client.enqueue(welcome, { userId: 42 }); // ✗
await client.enqueue(welcome); // ✗
await client.enqueue(checked, { id: 42 }); // ✗
await client.enqueue(welcome, { userId: 42, email: "a@example.com", extra: 1 }); // ✗
client.enqueueBatch([welcome.task({ userId: 42, email: 1 })]); // ✗
await recording.enqueue(resize, { width: "wide" }); // ✗
mux.handle(resize, async () => ({ bytes: "many" })); // ✗
mux.handle(welcome, async (payload) => payload.userId.toUpperCase()); // ✗
await client.enqueue(welcome, { userId: 42, email: "a@example.com" }, { maxRetries: 3 }); // ✗
`;

describe("a defined task's payload type", () => {
  let diagnostics: Record<string, Diagnostic[]>;
  beforeAll(async () => {
    diagnostics = await typeCheck({ good: GOOD, bad: BAD });
  }, 120_000);

  it("the right payloads, handlers and results compile", () => {
    expect(diagnostics.good).toEqual([]);
  });

  it("a wrong payload type fails tsc, on the line of the call", () => {
    const bad = diagnostics.bad!;
    const lines = [...new Set(bad.map((d) => d.line))];
    expect(lines, bad.map((d) => `${d.line}: ${d.message}`).join("\n")).toEqual(markedLines(BAD));
    const first = bad.find((d) => d.line === markedLines(BAD)[0]);
    expect(first?.message).toMatch(/userId[\s\S]*string[\s\S]*number/);
  });
});
