// Every TypeScript block of the repository's Markdown (README, docs) type-checks against the library's
// source, as a user's module that imports "asynq-ts" would: a snippet that drifts from the API fails here.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The Markdown files whose TypeScript blocks are checked. */
const MARKDOWN = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
  "bench/README.md",
];

interface Snippet {
  /** Where the block starts, as `file:line`. */
  where: string;
  /** A virtual file name for the compiler, inside the repository so that node_modules resolve. */
  fileName: string;
  code: string;
}

/** The ```ts / ```typescript blocks of a Markdown file, with the line each starts on. */
export function extractSnippets(markdown: string, file: string): Snippet[] {
  const snippets: Snippet[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    const name = `${file.replace(/[^\w]+/g, "_")}_${start}`;
    snippets.push({
      where: `${file}:${start}`,
      fileName: join(ROOT, ".snippets", `${name}.mts`),
      code: lines.slice(start, end).join("\n"),
    });
    i = end;
  }
  return snippets;
}

/** Type-checks snippets as ES modules that import "asynq-ts"; returns one message per diagnostic. */
export function checkSnippets(snippets: readonly Snippet[]): string[] {
  // The repository's own compiler options (so the library's source checks as in `npm run typecheck`),
  // with the package's public entry points mapped as a user imports them.
  const read = ts.readConfigFile(join(ROOT, "tsconfig.json"), (f) => ts.sys.readFile(f));
  const options: ts.CompilerOptions = {
    ...ts.parseJsonConfigFileContent(read.config as object, ts.sys, ROOT).options,
    noEmit: true,
    declaration: false,
    sourceMap: false,
    baseUrl: ROOT,
    paths: {
      "asynq-ts": ["src/index.ts"],
      "asynq-ts/testing": ["src/testing/index.ts"],
      "asynq-ts/doctor": ["src/doctor/index.ts"],
      "asynq-ts/dashboard": ["src/dashboard/index.ts"],
      "asynq-ts/metrics": ["src/metrics/index.ts"],
      "asynq-ts/otel": ["src/otel/index.ts"],
    },
  };
  const virtual = new Map(snippets.map((s) => [s.fileName, s]));
  const host = ts.createCompilerHost(options);
  const real = { ...host };
  host.fileExists = (f) => virtual.has(f) || real.fileExists(f);
  host.readFile = (f) => virtual.get(f)?.code ?? real.readFile(f);
  host.getSourceFile = (f, language, ...rest) => {
    const snippet = virtual.get(f);
    if (snippet !== undefined) return ts.createSourceFile(f, snippet.code, language, true);
    return real.getSourceFile(f, language, ...rest);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    const snippet = d.file === undefined ? undefined : virtual.get(d.file.fileName);
    if (d.file === undefined || d.start === undefined) return message;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const where =
      snippet === undefined
        ? `${d.file.fileName}:${line + 1}`
        : `${snippet.where.split(":")[0]}:${Number(snippet.where.split(":")[1]) + line + 1}`;
    return `${where}: ${message}`;
  });
}

const snippets = MARKDOWN.flatMap((file) => extractSnippets(readFileSync(join(ROOT, file), "utf8"), file));

describe("TypeScript in the Markdown", () => {
  it("finds the README's snippets", () => {
    expect(snippets.filter((s) => s.where.startsWith("README.md:")).length).toBeGreaterThanOrEqual(4);
  });

  it("every snippet type-checks against the public API", { timeout: 60_000 }, () => {
    expect(checkSnippets(snippets)).toEqual([]);
  });

  it("the check fails on an undefined name and on a misused API", { timeout: 60_000 }, () => {
    const bad = extractSnippets(
      [
        "```ts",
        'import { Client } from "asynq-ts";',
        "const client = new Client(42);",
        "await client.enqueue({ type: 'x' }, { maxRetries: 3 });",
        "console.log(undefinedName);",
        "```",
      ].join("\n"),
      "bad.md",
    );
    const errors = checkSnippets(bad);
    expect(errors.some((e) => e.includes("undefinedName"))).toBe(true);
    expect(errors.some((e) => e.includes("maxRetries"))).toBe(true);
    expect(errors.some((e) => e.startsWith("bad.md:3:"))).toBe(true);
  });
});
