// The repository stands alone: its golden data is its own copy (kept in step with the reference data
// when that sits beside the checkout), and no file points outside the repository.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { GOLDEN_DIR } from "../support/golden.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);

/**
 * Where the reference golden data is published, beside the checkout. This test is the only file of
 * the repository that may name it: everything else reads the repository's copy in test/golden/.
 */
const REFERENCE_DIR = join(ROOT, "..", "shared", "testvectors");

/**
 * Folders that are not part of the repository's content (installed, built, scratch, or the
 * benchmark's results: its profiles and its copy of the build, gitignored): by name, or by path.
 */
const SKIPPED_DIRS = new Set([
  "node_modules",
  ".git",
  "dist",
  "coverage",
  ".redis-test",
  "scratch",
  "bench/results",
]);

/** Every file under `dir`, as paths relative to `dir` with `/` separators. */
function listFiles(dir: string, skip: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        const path = join(current, entry.name);
        const rel = relative(dir, path).split(sep).join("/");
        if (!skip.has(entry.name) && !skip.has(rel)) walk(path);
      } else if (entry.isFile()) {
        out.push(relative(dir, join(current, entry.name)).split(sep).join("/"));
      }
    }
  };
  walk(dir);
  return out.sort();
}

const sha256 = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("golden data", () => {
  it("the repository carries its own copy (protobuf vectors and Redis snapshots)", () => {
    const files = listFiles(GOLDEN_DIR);
    expect(files).toContain("README.md");
    expect(files).toContain("protobuf.json");
    expect(files.filter((f) => f.startsWith("redis-snapshots/")).length).toBeGreaterThanOrEqual(24);
  });

  it("matches the reference data beside the checkout, file for file, when it is there", () => {
    if (!existsSync(REFERENCE_DIR)) {
      // A clone on its own (GitHub, the npm package's users): nothing to compare against.
      console.info(
        `golden drift check: no reference data at ${REFERENCE_DIR}; the repository copy is used as is`,
      );
      return;
    }
    const reference = listFiles(REFERENCE_DIR);
    const ours = new Set(listFiles(GOLDEN_DIR));
    const missing = reference.filter((f) => !ours.has(f));
    const differing = reference.filter(
      (f) => ours.has(f) && sha256(join(REFERENCE_DIR, f)) !== sha256(join(GOLDEN_DIR, f)),
    );
    // New reference files must be taken in: copy the reference folder over test/golden/.
    expect({ missing, differing }).toEqual({ missing: [], differing: [] });
  });
});

describe("no file points outside the repository", () => {
  // Machine-specific absolute paths (a workspace, a home folder, a temp folder) and the folder beside
  // the checkout. System paths a tool probes on purpose (/usr/bin, /etc/debian_version) are fine.
  const FORBIDDEN: readonly RegExp[] = [
    /\.\.\/shared\b/,
    /(^|[^\w.])\/(work|home|root|Users|tmp)\//,
    /\b[A-Z]:\\(Users|work)\\/,
  ];

  it("no absolute path and no reference to the folder beside the checkout", () => {
    const offenders: string[] = [];
    for (const file of listFiles(ROOT, SKIPPED_DIRS)) {
      const path = join(ROOT, file);
      if (path === THIS_FILE || file === "package-lock.json" || statSync(path).size > 2_000_000) continue;
      const text = readFileSync(path, "utf8");
      if (text.includes("\u0000")) continue; // binary
      text.split("\n").forEach((line, i) => {
        if (FORBIDDEN.some((re) => re.test(line))) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  it("the check itself catches both kinds of reference", () => {
    const hits = (line: string) => FORBIDDEN.some((re) => re.test(line));
    expect(hits('readFileSync("../shared/testvectors/protobuf.json")')).toBe(true);
    // Assembled, so that this file does not itself hold a machine path.
    expect(hits(`const GOLDEN = "${"/wo" + "rk"}/shared/testvectors";`)).toBe(true);
    expect(hits("see /home/alice/asynq-ts/README.md")).toBe(true);
    expect(hits('existsSync("/etc/debian_version")')).toBe(false);
    expect(hits("src/broker/lua/done.lua")).toBe(false);
  });
});
