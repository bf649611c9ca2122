// `--observe`: what an asynq-ts worker pays for metrics and tracing. The server's metrics
// (asynq-ts/metrics: duration and wait histograms, outcome counters, in flight) are registered in a
// prom-client registry, and every task runs in the OpenTelemetry middleware (asynq-ts/otel) with the
// SDK's tracer: a consumer span per attempt, batched by a BatchSpanProcessor and then dropped (the
// export itself costs what the chosen backend costs; it is not what is measured here).
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { Registry } from "prom-client";
import type * as AsynqTs from "../../src/index.js";
import { loadAsynqTsEntry } from "./asynq.js";

/** An exporter that accepts every batch and keeps nothing. */
const discard: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
};

/** Turns metrics and tracing on for `server`; returns what wraps its handler in the tracing middleware. */
export async function observe(
  server: AsynqTs.Server,
): Promise<(handler: AsynqTs.Handler) => AsynqTs.Handler> {
  const [metrics, otel] = await Promise.all([loadAsynqTsEntry("metrics"), loadAsynqTsEntry("otel")]);
  metrics.registerServerMetrics(server, { registry: new Registry() });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(discard)] });
  const middleware = otel.otelMiddleware({ tracer: provider.getTracer("bench") });
  return (handler) => middleware(handler);
}
