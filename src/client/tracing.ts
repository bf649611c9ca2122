// The Client's tracing hook: what `asynq-ts/otel` implements with @opentelemetry/api (the core never
// imports OpenTelemetry). Without a tracer the enqueue path is unchanged.

/** What a tracer learns of a task about to be enqueued. */
export interface EnqueueSpanInfo {
  type: string;
  id: string;
  queue: string;
  /** Payload size in bytes. */
  payloadSize: number;
  /** `pending`, `scheduled` or `group`. */
  target: "pending" | "scheduled" | "group";
  /** `enqueue` or `enqueueBatch`. */
  operation: "enqueue" | "enqueueBatch";
}

/**
 * Traces enqueues (ClientOptions `tracer`). `startEnqueue` is called once per task, validated but not
 * yet written; it may add headers to the task (the W3C `traceparent` of its span: they are written
 * with the task and handed to its handler), and returns what ends the span once the write is known,
 * with the error when it failed.
 */
export interface EnqueueTracer {
  startEnqueue(task: EnqueueSpanInfo, headers: Record<string, string>): ((error?: Error) => void) | undefined;
}
