// What the cluster flavour's test files share: queue names whose slots are served by different masters.
import type { Inspector } from "../../src/inspector/inspector.js";

/**
 * `count` queue names (`<prefix>0`, `<prefix>1`, … as needed) whose slots are served by `count`
 * different masters, each with its master's address (from `Inspector.clusterNodes`).
 * @throws Error when 200 names do not reach `count` masters.
 */
export async function queuesOnMasters(
  inspector: Inspector,
  count: number,
  prefix = "q",
): Promise<Map<string, string>> {
  const byQueue = new Map<string, string>();
  for (let i = 0; byQueue.size < count; i++) {
    if (i > 200) throw new Error(`found no ${count} queues on different masters`);
    const queue = `${prefix}${i}`;
    const [master] = await inspector.clusterNodes(queue);
    if (master !== undefined && ![...byQueue.values()].includes(master.addr)) byQueue.set(queue, master.addr);
  }
  return byQueue;
}
