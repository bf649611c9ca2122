// asynq-ts/otel: OpenTelemetry tracing with @opentelemetry/api (an optional peer dependency, loaded
// only by this entry; `import "asynq-ts"` never loads it).
//
// - `otelTracer()` (Client option `tracer`): a producer span per enqueued task, whose context is
//   written in the task's headers as W3C `traceparent` (and `tracestate`), the header Go asynq v0.26
//   keeps in its task headers;
// - `otelMiddleware()` (ServeMux `use`, or around a handler): a consumer span per attempt, linked to
//   the producer span (and its child, by default), active while the handler runs so that its own
//   spans nest under it.
// Attributes follow OpenTelemetry's semantic conventions for messaging.
//
// Like the CLI and the dashboard, this entry uses the library through its public entry only.
import {
  context,
  createTraceState,
  isSpanContextValid,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Link,
  type SpanContext,
  type Tracer,
} from "@opentelemetry/api";
import type { EnqueueTracer, Middleware } from "../index.js";

/** The instrumentation scope of the spans. */
export const TRACER_NAME = "asynq-ts";

/** The value of `messaging.system`. */
const SYSTEM = "asynq";

/** Options of {@link otelTracer}. */
export interface OtelTracerOptions {
  /** The tracer to use. @defaultValue `trace.getTracer("asynq-ts")` of the global provider */
  tracer?: Tracer;
}

/**
 * A Client `tracer`: one producer span per enqueued task (`send <queue>`), child of the active span,
 * ended when the write is known (status ERROR with the error when it failed); the task's headers get
 * its `traceparent`.
 * @example
 * ```ts
 * import { otelTracer } from "asynq-ts/otel";
 * const client = new Client("redis://127.0.0.1:6379", { tracer: otelTracer() });
 * ```
 */
export function otelTracer(options: OtelTracerOptions = {}): EnqueueTracer {
  const tracer = (): Tracer => options.tracer ?? trace.getTracer(TRACER_NAME);
  return {
    startEnqueue(task, headers) {
      const span = tracer().startSpan(
        `send ${task.queue}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            "messaging.system": SYSTEM,
            "messaging.operation.type": "send",
            "messaging.operation.name": task.operation,
            "messaging.destination.name": task.queue,
            "messaging.message.id": task.id,
            "messaging.message.body.size": task.payloadSize,
            "asynq.task.type": task.type,
            "asynq.task.target": task.target,
          },
        },
        context.active(),
      );
      writeTraceContext(span.spanContext(), headers);
      return (error) => {
        if (error !== undefined) {
          span.recordException(error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
        }
        span.end();
      };
    },
  };
}

/** Options of {@link otelMiddleware}. */
export interface OtelMiddlewareOptions {
  /** The tracer to use. @defaultValue `trace.getTracer("asynq-ts")` of the global provider */
  tracer?: Tracer;
  /**
   * Whether the consumer span is a child of the producer span (one trace from enqueue to processing),
   * besides being linked to it; false starts a new trace for each attempt, only linked.
   * @defaultValue true
   */
  childOfProducer?: boolean;
}

/**
 * A middleware that runs each attempt in a consumer span (`process <queue>`), linked to the producer
 * span found in the task's `traceparent` header; status ERROR, with the exception, when the handler
 * fails.
 * @example
 * ```ts
 * import { otelMiddleware } from "asynq-ts/otel";
 * mux.use(otelMiddleware());
 * // or, with a plain handler: server.start(otelMiddleware()(handler))
 * ```
 */
export function otelMiddleware(options: OtelMiddlewareOptions = {}): Middleware {
  const tracer = (): Tracer => options.tracer ?? trace.getTracer(TRACER_NAME);
  const asChild = options.childOfProducer ?? true;
  return (next) => async (task, ctx) => {
    const producer = readTraceContext(task.headers);
    const links: Link[] = producer === undefined ? [] : [{ context: producer }];
    const parent =
      producer !== undefined && asChild
        ? trace.setSpanContext(context.active(), producer)
        : asChild
          ? context.active()
          : trace.deleteSpan(context.active());
    const attributes: Attributes = {
      "messaging.system": SYSTEM,
      "messaging.operation.type": "process",
      "messaging.operation.name": "process",
      "messaging.destination.name": ctx.queue,
      "messaging.message.id": ctx.id,
      "messaging.message.body.size": task.payload.length,
      "asynq.task.type": task.type,
      "asynq.task.attempt": ctx.retryCount + 1,
      "asynq.task.max_retry": ctx.maxRetry,
    };
    const span = tracer().startSpan(
      `process ${ctx.queue}`,
      { kind: SpanKind.CONSUMER, attributes, links },
      parent,
    );
    try {
      return await context.with(trace.setSpan(parent, span), () => next(task, ctx));
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      span.recordException(err);
      span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
      throw error;
    } finally {
      span.end();
    }
  };
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Writes a span context as W3C trace context headers (`traceparent`, and `tracestate` if any). */
export function writeTraceContext(span: SpanContext, headers: Record<string, string>): void {
  if (!isSpanContextValid(span)) return;
  const flags = (span.traceFlags & 0xff).toString(16).padStart(2, "0");
  headers.traceparent = `00-${span.traceId}-${span.spanId}-${flags}`;
  const state = span.traceState?.serialize();
  if (state !== undefined && state !== "") headers.tracestate = state;
  else delete headers.tracestate;
}

/** Reads the W3C `traceparent` of task headers; undefined when absent or invalid. */
export function readTraceContext(headers: Readonly<Record<string, string>>): SpanContext | undefined {
  const match = TRACEPARENT.exec(headers.traceparent?.trim() ?? "");
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  // Version 00 has exactly four fields; ff is invalid; later versions may add fields.
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  const span: SpanContext = {
    traceId: traceId!,
    spanId: spanId!,
    traceFlags: parseInt(flags!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  const state = headers.tracestate;
  if (state !== undefined && state !== "") span.traceState = createTraceState(state);
  return isSpanContextValid(span) ? span : undefined;
}
