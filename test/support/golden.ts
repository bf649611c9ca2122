// Where the repository's copy of the golden data lives: test/golden/, written by Go asynq v0.25.1
// (see test/golden/README.md). Every test that reads golden data finds it through here.
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The golden data folder (`protobuf.json`, `redis-snapshots/`). */
export const GOLDEN_DIR = fileURLToPath(new URL("../golden/", import.meta.url));

/** The Redis snapshots written by Go, one JSON file per scenario. */
export const SNAPSHOTS_DIR = join(GOLDEN_DIR, "redis-snapshots");

/** The path of one scenario's snapshot file, e.g. `snapshotPath("k_processed_plain")`. */
export function snapshotPath(scenario: string): string {
  return join(SNAPSHOTS_DIR, `${scenario}.json`);
}
