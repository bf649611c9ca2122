// Seeds many archived tasks fast, for the bulk commands: enqueued in batches with the Client, then
// archived at once with the Inspector.
import { Client, Inspector } from "../../src/index.js";

export async function seedArchived(url: string, queue: string, count: number, batch = 5000): Promise<void> {
  const client = new Client(url);
  const inspector = new Inspector(url, { archive: { maxSize: count + 1 } });
  try {
    for (let done = 0; done < count; done += batch) {
      const n = Math.min(batch, count - done);
      const tasks = Array.from({ length: n }, (_, i) => ({
        type: "bulk",
        payload: `task ${done + i}`,
        options: { queue },
      }));
      const results = await client.enqueueBatch(tasks);
      if (results.some((r) => !r.ok)) throw new Error("seeding failed");
    }
    await inspector.archiveAllTasks(queue, "pending");
  } finally {
    await Promise.all([client.close(), inspector.close()]);
  }
}
