// A worker process for the aggregation crash test (test/group/crash.test.ts): an asynq-ts Server whose
// groupAggregator prints the set it got and never settles, so the test can SIGKILL the process while
// the aggregation set is open. Started as `node --import tsx test/group/aggregator-worker.ts`.
//
// Environment: REDIS_URL (with the DB index). stdout, one line each: `READY <pid>`, then
// `AGGREGATING <group> <payload>,<payload>,…` when the aggregator is called.
import { Server } from "../../src/index.js";

const url = process.env.REDIS_URL;
if (url === undefined || url === "") {
  process.stderr.write("aggregator-worker: REDIS_URL is required\n");
  process.exit(2);
}

const server = new Server(url, {
  concurrency: 1,
  groupGracePeriod: 1000,
  logLevel: "silent",
  groupAggregator: (group, tasks) => {
    const payloads = tasks.map((t) => Buffer.from(t.payload).toString("utf8"));
    process.stdout.write(`AGGREGATING ${group} ${payloads.join(",")}\n`);
    return new Promise(() => {});
  },
});
await server.start(() => {});
process.stdout.write(`READY ${process.pid}\n`);
