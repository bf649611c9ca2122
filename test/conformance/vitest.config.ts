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
    ...(cluster ? { maxWorkers: 1, minWorkers: 1, fileParallelism: false } : {}),
  },
});
