/**
 * A BatchSpanProcessor whose queue bound is enforced (and its drops counted) in front of it.
 *
 * The SDK's BatchSpanProcessor drops spans silently when its queue is full. This wrapper
 * keeps the same count the SDK keeps — spans handed to the processor minus spans the
 * processor has handed to the exporter — and drops (and reports) a span before the SDK
 * would have to. The exporter side is observed through `exporterWithTakeCount()`; the SDK
 * hands a batch to the exporter in the same tick as it takes it off the queue.
 */
import type { Context } from "@opentelemetry/api";
import type { ExportResult } from "@opentelemetry/core";
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";

export interface BoundedSpanProcessorOptions {
  exporter: SpanExporter;
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
  onDrop: () => void;
}

export class BoundedSpanProcessor implements SpanProcessor {
  readonly #inner: BatchSpanProcessor;
  readonly #maxQueueSize: number;
  readonly #onDrop: () => void;
  #queued = 0;

  constructor(options: BoundedSpanProcessorOptions) {
    this.#maxQueueSize = options.maxQueueSize;
    this.#onDrop = options.onDrop;
    this.#inner = new BatchSpanProcessor(this.#exporterWithTakeCount(options.exporter), {
      maxQueueSize: options.maxQueueSize,
      maxExportBatchSize: Math.min(options.maxExportBatchSize, options.maxQueueSize),
      scheduledDelayMillis: options.scheduledDelayMillis,
      exportTimeoutMillis: options.exportTimeoutMillis,
    });
  }

  /** Spans waiting in the queue. */
  get queued(): number {
    return this.#queued;
  }

  onStart(span: Span, parentContext: Context): void {
    this.#inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (this.#queued >= this.#maxQueueSize) {
      this.#onDrop();
      return;
    }
    this.#queued++;
    this.#inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  #exporterWithTakeCount(exporter: SpanExporter): SpanExporter {
    return {
      export: (spans: ReadableSpan[], done: (result: ExportResult) => void): void => {
        this.#queued = Math.max(0, this.#queued - spans.length);
        exporter.export(spans, done);
      },
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
      shutdown: () => exporter.shutdown(),
    };
  }
}
