// Unit tests of resolveEnqueueArgs, the reading of `enqueue`'s two overloads that the Client and the
// RecordingClient share (their end-to-end behaviour is in test/tasks and test/testing).
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ValidationError } from "../errors.js";
import type { Task } from "../task.js";
import { defineTask, resolveEnqueueArgs } from "./define.js";

const welcome = defineTask("email:welcome", {
  schema: z.object({ userId: z.number().int().positive() }),
  options: { queue: "mail", maxRetry: 3 },
});

describe("resolveEnqueueArgs", () => {
  it("gives a plain task and its options back at once, not in a promise", () => {
    const task: Task = { type: "report:build", payload: "q3" };
    const args = resolveEnqueueArgs(task, { processIn: 60_000 });
    expect(args).not.toBeInstanceOf(Promise);
    expect(args).toEqual({ task, options: { processIn: 60_000 } });
    expect((args as { task: Task }).task).toBe(task);
    expect(resolveEnqueueArgs(task)).toEqual({ task, options: undefined });
  });

  it("builds a definition's task from the payload, with the third argument as the call's options", async () => {
    const args = resolveEnqueueArgs(welcome, { userId: 42 }, { maxRetry: 7 });
    expect(args).toBeInstanceOf(Promise);
    const { task, options } = await args;
    expect(task.type).toBe("email:welcome");
    expect(Buffer.from(task.payload as Uint8Array).toString("utf8")).toBe('{"userId":42}');
    expect(task.options).toEqual({ queue: "mail", maxRetry: 3 }); // the definition's defaults
    expect(options).toEqual({ maxRetry: 7 }); // applied over them by enqueue
  });

  it("rejects with the definition's ValidationError for a payload its schema refuses", async () => {
    await expect(resolveEnqueueArgs(welcome, { userId: -1 })).rejects.toBeInstanceOf(ValidationError);
  });
});
