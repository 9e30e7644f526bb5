/**
 * Trace spans pushed over OTLP with the OpenTelemetry tracing SDK.
 *
 * Each service instance is its own OTel Resource, so each gets its own TracerProvider
 * (with a bounded batch processor and an OTLP exporter), created on its first span,
 * bounded in number by maxServices, and shut down (flushed) when the service has sent
 * nothing for ttlMs. Spans that do not fit — queue full, too many services — are dropped
 * and counted; failed exports are counted; nothing is thrown into the pipeline.
 */
import { hostname } from "node:os";
import { type Attributes, ROOT_CONTEXT, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { HrTime } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import type { RequestSpan, ServiceIdentity } from "../request-span.js";
import { BoundedSpanProcessor } from "./bounded-span-processor.js";
import type { InternalMetrics } from "./internal-metrics.js";
import { ATTR, TELEMETRY_SDK_NAME, TELEMETRY_SDK_VERSION } from "./metric-names.js";
import {
  checkProtocol,
  createSpanExporter,
  type OtlpEndpointOptions,
  signalUrl,
} from "./otlp-config.js";
import { resourceAttributes } from "./service-resource.js";
import { type ServiceSlot, ServiceSlots } from "./service-slots.js";
import { sweepIntervalMs } from "./series-table.js";
import { isErrorStatus, normalizeMethod, OTHER_METHOD } from "./span-fields.js";

export interface OtlpTracesOptions extends OtlpEndpointOptions {
  /** Spans queued per service before new ones are dropped (OTEL_BSP_MAX_QUEUE_SIZE). Default 2048. */
  maxQueueSize?: number;
  /** Spans per export request (OTEL_BSP_MAX_EXPORT_BATCH_SIZE). Default 512. */
  maxExportBatchSize?: number;
  /** Delay between two exports (OTEL_BSP_SCHEDULE_DELAY). Default 5 s. */
  scheduledDelayMs?: number;
  /** A service that sent nothing for this long has its provider shut down. Default 5 minutes. */
  ttlMs?: number;
  /** Services (TracerProviders) beyond which spans of new services are dropped. Default 256. */
  maxServices?: number;
  /** host.name when the service identity does not carry one. Default: os.hostname(). */
  hostName?: string;
  /** Where failures and drops are counted. */
  internal?: InternalMetrics;
  /** Clock in milliseconds; tests inject one. */
  now?: () => number;
}

interface ServiceTracer {
  readonly provider: BasicTracerProvider;
  readonly tracer: ReturnType<BasicTracerProvider["getTracer"]>;
}

const NANOS_PER_SECOND = 1_000_000_000n;

function hrTime(unixNano: bigint): HrTime {
  return [Number(unixNano / NANOS_PER_SECOND), Number(unixNano % NANOS_PER_SECOND)];
}

/** "GET /users/*", or just the method without a route; "HTTP" for unknown methods. */
export function spanName(span: RequestSpan): string {
  const method = normalizeMethod(span.method);
  const shown = method === OTHER_METHOD ? "HTTP" : method;
  return span.route !== undefined && span.route !== "" ? `${shown} ${span.route}` : shown;
}

/** The semantic-convention attributes of a span. */
export function spanAttributes(span: RequestSpan): Attributes {
  const method = normalizeMethod(span.method);
  const attrs: Attributes = { [ATTR.httpRequestMethod]: method };
  if (method !== span.method) attrs[ATTR.httpRequestMethodOriginal] = span.method;
  if (span.statusCode > 0) attrs[ATTR.httpResponseStatusCode] = span.statusCode;
  attrs[ATTR.urlPath] = span.path;
  attrs[ATTR.urlScheme] = "http";
  if (span.route !== undefined && span.route !== "") attrs[ATTR.httpRoute] = span.route;
  attrs[ATTR.serverAddress] = span.serverAddress;
  attrs[ATTR.serverPort] = span.serverPort;
  if (span.kind === "server") attrs[ATTR.clientAddress] = span.peerAddress;
  attrs[ATTR.networkPeerAddress] = span.peerAddress;
  attrs[ATTR.networkPeerPort] = span.peerPort;
  if (span.requestBodySize >= 0) attrs[ATTR.httpRequestBodySize] = span.requestBodySize;
  if (span.responseBodySize >= 0) attrs[ATTR.httpResponseBodySize] = span.responseBodySize;
  return attrs;
}

export class OtlpTraces {
  readonly #options: OtlpTracesOptions;
  readonly #services: ServiceSlots<ServiceTracer>;
  readonly #pending = new Set<Promise<void>>();
  readonly #ttlMs: number;
  readonly #hostName: string;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #dropped = 0;

  /** Validates the options; throws, naming the field, when they cannot work. */
  constructor(options: OtlpTracesOptions) {
    checkProtocol(options, "traces");
    signalUrl(options, "traces");
    this.#options = options;
    this.#ttlMs = options.ttlMs ?? 5 * 60_000;
    this.#hostName = options.hostName ?? hostname();
    this.#now = options.now ?? Date.now;
    this.#services = new ServiceSlots({
      maxServices: options.maxServices ?? 256,
      create: (identity) => this.#createTracer(identity),
    });
  }

  get serviceCount(): number {
    return this.#services.size;
  }

  /** Spans dropped so far (queue full or too many services). */
  get droppedSpans(): number {
    return this.#dropped;
  }

  /** Starts the expiry timer (unref'ed). */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => this.sweep(), sweepIntervalMs(this.#ttlMs));
    this.#timer.unref();
  }

  /** Queues one span for export. Spans marked ignore: "traces" are skipped. Never throws. */
  record(span: RequestSpan): void {
    if (span.ignore === "traces" || this.#closed) return;
    const slot = this.#services.get(span.service, this.#now());
    if (slot === undefined) return this.#drop("service_limit");
    const otelSpan = slot.state.tracer.startSpan(
      spanName(span),
      {
        kind: span.kind === "server" ? SpanKind.SERVER : SpanKind.CLIENT,
        startTime: hrTime(span.startUnixNano),
        attributes: spanAttributes(span),
      },
      ROOT_CONTEXT,
    );
    if (isErrorStatus(span)) otelSpan.setStatus({ code: SpanStatusCode.ERROR });
    otelSpan.end(hrTime(span.endUnixNano));
  }

  /** Shuts down the providers of services idle for ttlMs; returns how many. */
  sweep(nowMs: number = this.#now()): number {
    const idle = this.#services.removeIdle(nowMs - this.#ttlMs);
    for (const slot of idle) this.#retire(slot);
    return idle.length;
  }

  /** Process `pid` exited: its providers flush and shut down now. */
  serviceStopped(pid: number): void {
    for (const slot of this.#services.removePid(pid)) this.#retire(slot);
  }

  /** Exports every queued span now. */
  async flush(): Promise<void> {
    await Promise.all(
      this.#services.values().map((slot) => this.#track(slot.state.provider.forceFlush())),
    );
  }

  /** Stops the expiry timer. Safe to call twice. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops the timer, flushes and shuts down every provider. Safe to call twice. */
  async shutdown(): Promise<void> {
    this.#closed = true;
    this.stop();
    for (const slot of this.#services.clear()) this.#retire(slot);
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  #drop(reason: "queue_full" | "service_limit"): void {
    this.#dropped++;
    this.#options.internal?.spansDropped(reason);
  }

  #createTracer(identity: ServiceIdentity): ServiceTracer {
    const internal = this.#options.internal;
    const exporter = createSpanExporter(this.#options, () =>
      internal?.exportFailure("otlp_traces"),
    );
    const processor = new BoundedSpanProcessor({
      exporter,
      maxQueueSize: this.#options.maxQueueSize ?? 2048,
      maxExportBatchSize: this.#options.maxExportBatchSize ?? 512,
      scheduledDelayMillis: this.#options.scheduledDelayMs ?? 5_000,
      exportTimeoutMillis: this.#options.timeoutMs ?? 10_000,
      onDrop: () => this.#drop("queue_full"),
    });
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes(resourceAttributes(identity, this.#hostName)),
      spanProcessors: [processor],
    });
    return { provider, tracer: provider.getTracer(TELEMETRY_SDK_NAME, TELEMETRY_SDK_VERSION) };
  }

  #retire(slot: ServiceSlot<ServiceTracer>): void {
    this.#track(slot.state.provider.shutdown());
  }

  /**
   * Keeps a provider operation awaited by shutdown(). A failed export inside it was already
   * counted by the exporter, so the rejection is only swallowed here.
   */
  #track(operation: Promise<void>): Promise<void> {
    const tracked = operation.catch(() => undefined);
    this.#pending.add(tracked);
    void tracked.finally(() => this.#pending.delete(tracked));
    return tracked;
  }
}
