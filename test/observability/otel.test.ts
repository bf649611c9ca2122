// asynq-ts/otel on a real Redis, with OpenTelemetry's in-memory exporter: a producer span at enqueue
// whose W3C traceparent travels in the task's headers, and a consumer span per attempt, linked to it
// (and its child), across a Client and a Server.
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Client } from "../../src/client/client.js";
import { ServeMux, type HandlerTask } from "../../src/server/mux.js";
import { otelMiddleware, otelTracer, readTraceContext, writeTraceContext } from "../../src/otel/index.js";
import { useRedisFixture } from "../support/fixture.js";
import { startServer, waitFor } from "../support/server.js";

const { redis, url } = useRedisFixture();
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer("test");
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  context.disable();
});
beforeEach(() => exporter.reset());

const spans = () => exporter.getFinishedSpans();

describe("OpenTelemetry", () => {
  it("links the consumer span of each attempt to the producer span, across a Client and a Server", async () => {
    const seen: HandlerTask[] = [];
    let attempts = 0;
    const mux = new ServeMux().use(otelMiddleware({ tracer }));
    mux.handle("email:send", async (task) => {
      seen.push(task);
      // The handler's own spans nest under the consumer span.
      await new Promise((resolve) => setTimeout(resolve, 1));
      tracer.startActiveSpan("smtp", (span) => span.end());
      if (++attempts === 1) throw new Error("first attempt fails");
    });
    await startServer(redis, mux, { retryDelay: () => 0 });
    const client = new Client(url, { tracer: otelTracer({ tracer }) });
    try {
      await tracer.startActiveSpan("http request", async (request) => {
        await client.enqueue({ type: "email:send", payload: "hi" }, { taskId: "t1", maxRetry: 2 });
        request.end();
      });
    } finally {
      await client.close();
    }
    await waitFor(
      () => spans().filter((s) => s.kind === SpanKind.CONSUMER).length === 2,
      "two consumer spans",
    );

    const request = spans().find((s) => s.name === "http request")!;
    const producer = spans().find((s) => s.kind === SpanKind.PRODUCER)!;
    expect(producer.name).toBe("send default");
    expect(producer.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(producer.attributes).toMatchObject({
      "messaging.system": "asynq",
      "messaging.operation.type": "send",
      "messaging.destination.name": "default",
      "messaging.message.id": "t1",
      "messaging.message.body.size": 2,
      "asynq.task.type": "email:send",
    });
    // The W3C traceparent of the producer span reached the handler in the task's headers.
    const { traceId, spanId } = producer.spanContext();
    expect(seen[0]!.headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);

    const consumers = spans().filter((s) => s.kind === SpanKind.CONSUMER);
    expect(consumers.map((s) => s.attributes["asynq.task.attempt"])).toEqual([1, 2]);
    for (const consumer of consumers) {
      expect(consumer.name).toBe("process default");
      expect(consumer.links.map((l) => l.context.spanId)).toEqual([spanId]);
      expect(consumer.parentSpanContext?.spanId).toBe(spanId);
      expect(consumer.spanContext().traceId).toBe(traceId);
      expect(consumer.attributes).toMatchObject({
        "messaging.system": "asynq",
        "messaging.operation.type": "process",
        "messaging.destination.name": "default",
        "messaging.message.id": "t1",
        "asynq.task.type": "email:send",
      });
    }
    expect(consumers[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(consumers[0]!.status.message).toBe("first attempt fails");
    expect(consumers[0]!.events.some((e) => e.name === "exception")).toBe(true);
    expect(consumers[1]!.status.code).toBe(SpanStatusCode.UNSET);
    const smtp = spans().filter((s) => s.name === "smtp");
    expect(smtp.map((s) => s.parentSpanContext?.spanId)).toEqual(
      consumers.map((c) => c.spanContext().spanId),
    );
  });

  it("childOfProducer false: a new trace per attempt, linked to the producer", async () => {
    const mux = new ServeMux().use(otelMiddleware({ tracer, childOfProducer: false }));
    mux.handle("t", () => {});
    await startServer(redis, mux);
    const client = new Client(url, { tracer: otelTracer({ tracer }) });
    try {
      const results = await client.enqueueBatch([{ type: "t" }, { type: "t" }]);
      expect(results.every((r) => r.ok)).toBe(true);
    } finally {
      await client.close();
    }
    await waitFor(
      () => spans().filter((s) => s.kind === SpanKind.CONSUMER).length === 2,
      "two consumer spans",
    );
    const producers = spans().filter((s) => s.kind === SpanKind.PRODUCER);
    expect(producers.map((s) => s.attributes["messaging.operation.name"])).toEqual([
      "enqueueBatch",
      "enqueueBatch",
    ]);
    for (const consumer of spans().filter((s) => s.kind === SpanKind.CONSUMER)) {
      const producer = producers.find(
        (p) => p.attributes["messaging.message.id"] === consumer.attributes["messaging.message.id"],
      )!;
      expect(consumer.links[0]!.context.spanId).toBe(producer.spanContext().spanId);
      expect(consumer.parentSpanContext).toBeUndefined();
      expect(consumer.spanContext().traceId).not.toBe(producer.spanContext().traceId);
    }
  });

  it("a failed enqueue ends its producer span with an error", async () => {
    const client = new Client(url, { tracer: otelTracer({ tracer }) });
    try {
      await client.enqueue({ type: "t" }, { taskId: "same" });
      await expect(client.enqueue({ type: "t" }, { taskId: "same" })).rejects.toThrow();
    } finally {
      await client.close();
    }
    const producers = spans().filter((s) => s.kind === SpanKind.PRODUCER);
    expect(producers.map((s) => s.status.code)).toEqual([SpanStatusCode.UNSET, SpanStatusCode.ERROR]);
  });

  it("reads and writes W3C trace context headers", () => {
    const headers: Record<string, string> = {};
    const span = {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      traceFlags: 1,
    };
    writeTraceContext(span, headers);
    expect(headers).toEqual({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" });
    expect(readTraceContext(headers)).toMatchObject({ ...span, isRemote: true });
    expect(
      readTraceContext({ traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01" }),
    ).toBeUndefined();
    expect(
      readTraceContext({ traceparent: "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }),
    ).toBeUndefined();
    expect(readTraceContext({ traceparent: "garbage" })).toBeUndefined();
    expect(readTraceContext({})).toBeUndefined();
    const withState = readTraceContext({ ...headers, tracestate: "vendor=abc" });
    expect(withState?.traceState?.get("vendor")).toBe("abc");
    // A span context that is not valid writes nothing.
    const none: Record<string, string> = {};
    writeTraceContext(
      trace.wrapSpanContext({ traceId: "0".repeat(32), spanId: "0".repeat(16), traceFlags: 0 }).spanContext(),
      none,
    );
    expect(none).toEqual({});
  });
});
