// RecordingClient: the Client's enqueue surface without Redis, validating as the Client does.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Client } from "../../src/client/client.js";
import { DuplicateTaskError, TaskIdConflictError, ValidationError } from "../../src/errors.js";
import { defineTask } from "../../src/tasks/define.js";
import { ManualClock, RecordingClient } from "../../src/testing/index.js";

const welcome = defineTask("email:welcome", {
  schema: z.object({ email: z.string().email() }),
  options: { queue: "mail" },
});

/** Code under test: it only needs the enqueue surface, so it takes either client. */
async function signUp(client: Pick<Client, "enqueue">, email: string): Promise<void> {
  await client.enqueue(welcome, { email }, { processIn: 60_000 });
  await client.enqueue({ type: "audit:log", payload: { event: "signup" } });
}

describe("RecordingClient", () => {
  it("records typed and plain enqueues, with their info and merged options", async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const client = new RecordingClient({ clock });
    await signUp(client, "ada@example.com");

    expect(client.enqueued.map((t) => t.info.type)).toEqual(["email:welcome", "audit:log"]);
    expect(await client.payloads(welcome)).toEqual([{ email: "ada@example.com" }]);
    const [mail] = client.tasks(welcome);
    expect(mail!.options).toEqual({ queue: "mail", processIn: 60_000 });
    expect(mail!.info).toMatchObject({
      queue: "mail",
      state: "scheduled",
      nextProcessAt: new Date(clock.now() + 60_000),
    });
    expect(client.tasks("audit:log")[0]!.json()).toEqual({ event: "signup" });
    expect(client.tasks("audit:log")[0]!.info.state).toBe("pending");
  });

  it("throws what the Client throws, and records nothing then", async () => {
    const client = new RecordingClient();
    await expect(client.enqueue(welcome, { email: "not an email" })).rejects.toThrow(ValidationError);
    await expect(client.enqueue({ type: "t" }, { maxRetry: -1 })).rejects.toThrow(/options\.maxRetry/);
    await expect(client.enqueueBatch([{ type: "ok" }, { type: "" }])).rejects.toThrow(/tasks\[1\]\.type/);
    expect(client.enqueued).toEqual([]);
  });

  it("fails a taskId taken in its queue, and a unique task within its window", async () => {
    const clock = new ManualClock();
    const client = new RecordingClient({ clock });
    await client.enqueue({ type: "t" }, { taskId: "a" });
    await expect(client.enqueue({ type: "t" }, { taskId: "a" })).rejects.toThrow(TaskIdConflictError);
    await client.enqueue({ type: "t" }, { taskId: "a", queue: "other" }); // another queue: fine

    await client.enqueue({ type: "u", payload: 1 }, { unique: 10_000 });
    await expect(client.enqueue({ type: "u", payload: 1 }, { unique: 10_000 })).rejects.toThrow(
      DuplicateTaskError,
    );
    await client.enqueue({ type: "u", payload: 2 }, { unique: 10_000 }); // another payload: fine
    clock.advance(10_000);
    await client.enqueue({ type: "u", payload: 1 }, { unique: 10_000 }); // the window is over

    const results = await client.enqueueBatch([
      { type: "b", options: { taskId: "b" } },
      { type: "b", options: { taskId: "b" } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    expect(client.enqueued).toHaveLength(6);
    client.clear();
    expect(client.enqueued).toEqual([]);
    await client.enqueue({ type: "t" }, { taskId: "a" }); // forgotten by clear()
  });
});
