// Summarizes V8 CPU profiles (from `--cpu-prof`): self time by function and by file, top first.
//
//   npx tsx bench/lib/profile.ts bench/results/profiles/<file>.cpuprofile [more files] [--top 25]
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time in ms per key (function or file), over the given profile. */
export interface ProfileSummary {
  totalMs: number;
  /** Idle ("(idle)") and GC time, ms. */
  idleMs: number;
  gcMs: number;
  byFunction: [string, number][];
  byFile: [string, number][];
}

function shortUrl(url: string): string {
  if (url === "") return "(native)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length);
  const src = url.search(/\/(src|bench|tools)\//);
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, "");
}

/** Reads a `.cpuprofile` and sums self time per function and per file. */
export function summarizeProfile(path: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  let gcMs = 0;
  for (const [id, us] of selfUs) {
    const node = nodes.get(id);
    if (node === undefined) continue;
    const ms = us / 1000;
    totalMs += ms;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") idleMs += ms;
    if (functionName === "(garbage collector)") gcMs += ms;
    const file = shortUrl(url);
    const fn = `${functionName || "(anonymous)"} ${file}${url === "" ? "" : `:${lineNumber + 1}`}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
    byFile.set(file, (byFile.get(file) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs, idleMs, gcMs, byFunction: sorted(byFunction), byFile: sorted(byFile) };
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf("--top");
  const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25;
  for (const file of args) {
    const s = summarizeProfile(file);
    const busy = s.totalMs - s.idleMs;
    const pct = (ms: number) => `${((100 * ms) / busy).toFixed(1).padStart(5)}%`;
    console.log(
      `\n${file}\n  busy ${busy.toFixed(0)} ms (idle ${s.idleMs.toFixed(0)} ms, GC ${s.gcMs.toFixed(0)} ms)`,
    );
    console.log("  self time by file:");
    for (const [k, ms] of s.byFile.slice(0, top))
      console.log(`  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}`);
    console.log("  self time by function:");
    for (const [k, ms] of s.byFunction.slice(0, top))
      console.log(`  ${pct(ms)} ${ms.toFixed(0).padStart(7)} ms  ${k}`);
  }
}
