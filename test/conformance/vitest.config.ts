// Vitest configuration of the conformance suite (run.ts starts the topology and sets FLAVOUR): the
// default configuration, with this folder's own tests (which the default run leaves out, as they need
// a topology); on a Redis Cluster (DB 0 only) one file at a time in one worker, as every test flushes
// the whole cluster.
import { configDefaults, defineConfig } from "vitest/config";
import base from "../../vitest.config.js";

const cluster = process.env.FLAVOUR === "cluster";

export default defineConfig({
  test: {
    ...base.test,
    exclude: configDefaults.exclude,
    // One retry per test: on a loaded 2-core machine, six topologies and a failover test side by side
    // have shown one flake (client/batch's pending order on the sentinel flavour, once in four full
    // runs; under investigation in issue 20). A retried test is reported as such by vitest.
    retry: 1,
    ...(cluster ? { maxWorkers: 1, minWorkers: 1, fileParallelism: false } : {}),
  },
});
