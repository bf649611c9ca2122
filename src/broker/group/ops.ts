// The aggregator port's Redis operations (ports.ts) over a connection. openBroker (broker.ts) runs
// them under its supervisor (supervised.ts).
import type { Redis } from "ioredis";
import type { AggregatorPort } from "../ports.js";
import * as group from "./aggregation.js";

/** The aggregation operations on `redis`, unsupervised. */
export function groupOps(redis: Redis): AggregatorPort {
  return {
    listGroups: (queue) => group.listGroups(redis, queue),
    checkGroup: (req) => group.checkGroup(redis, req),
    readAggregationSet: (queue, setKey, start, count) =>
      group.readAggregationSet(redis, queue, setKey, start, count),
    aggregationSetIds: (setKey, start, count) => group.aggregationSetIds(redis, setKey, start, count),
    finishAggregation: (set, msg, nowMs) => group.finishAggregation(redis, set, msg, nowMs),
    deleteAggregatedMembers: (queue, setKey, members) =>
      group.deleteAggregatedMembers(redis, queue, setKey, members),
    listFinishedAggregationSets: (queue) => group.listFinishedAggregationSets(redis, queue),
    reclaimStaleAggregationSets: (queue, nowMs) => group.reclaimStaleAggregationSets(redis, queue, nowMs),
  };
}
