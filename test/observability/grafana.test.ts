// docs/grafana-dashboard.json queries only metrics asynq-ts exports (or their histogram series), so a
// renamed metric cannot leave the example dashboard blank.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { QUEUE_METRICS, SERVER_METRICS } from "../../src/metrics/index.js";

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
}

const dashboard = JSON.parse(
  readFileSync(new URL("../../docs/grafana-dashboard.json", import.meta.url), "utf8"),
) as { panels: Panel[] };

describe("the example Grafana dashboard", () => {
  it("queries only exported metrics, and shows each of them", () => {
    const exported = new Set<string>([...Object.values(QUEUE_METRICS), ...Object.values(SERVER_METRICS)]);
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets ?? []) {
        for (const [name] of (expr ?? "").matchAll(/\basynq_[a-z_]+/g)) {
          const base = name.replace(/_(bucket|sum|count)$/, "");
          expect(exported, `${panel.title}: ${name}`).toContain(base);
          used.add(base);
        }
      }
    }
    expect([...exported].filter((name) => !used.has(name))).toEqual([]);
  });
});
