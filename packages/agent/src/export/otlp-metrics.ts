/**
 * Application metrics pushed over OTLP with the OpenTelemetry metrics SDK.
 *
 * Each service instance is its own OTel Resource, so each gets its own MeterProvider (with
 * a PeriodicExportingMetricReader and an OTLP exporter), created on its first span. The
 * number of providers is bounded by maxServices, and the number of series (distinct
 * attribute sets) across all providers by maxSeries; what does not fit is dropped and
 * counted. A provider whose service sent nothing for ttlMs — i.e. all its series expired —
 * is shut down (its last data is flushed) and forgotten.
 *
 * The SDK cannot delete one series from a live provider, so series of a service that is
 * still active stay until the whole service expires.
 */
import { hostname } from "node:os";
import type { Attributes, Histogram } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import type { RequestSpan, ServiceIdentity, SpanKind } from "../request-span.js";
import type { InternalMetrics } from "./internal-metrics.js";
import {
  ATTR,
  CLIENT_HISTOGRAMS,
  DURATION_BUCKETS_SECONDS,
  type HistogramName,
  type KindHistograms,
  SERVER_HISTOGRAMS,
  SIZE_BUCKETS_BYTES,
  TELEMETRY_SDK_NAME,
  TELEMETRY_SDK_VERSION,
} from "./metric-names.js";
import {
  checkProtocol,
  createMetricExporter,
  type OtlpEndpointOptions,
  signalUrl,
} from "./otlp-config.js";
import { resourceAttributes } from "./service-resource.js";
import { type ServiceSlot, ServiceSlots } from "./service-slots.js";
import { sweepIntervalMs } from "./series-table.js";
import { durationSeconds, normalizeMethod } from "./span-fields.js";

export interface OtlpMetricsOptions extends OtlpEndpointOptions {
  /** Export interval (OTEL_METRIC_EXPORT_INTERVAL). Default 60 s. */
  intervalMs?: number;
  /** A service that sent nothing for this long is expired. Default 5 minutes. */
  ttlMs?: number;
  /** Series (attribute sets) across all services beyond which new ones are dropped. Default 10,000. */
  maxSeries?: number;
  /** Services (MeterProviders) beyond which new ones are dropped. Default 256. */
  maxServices?: number;
  /** host.name when the service identity does not carry one. Default: os.hostname(). */
  hostName?: string;
  /** Where failures and drops are counted. */
  internal?: InternalMetrics;
  /** Clock in milliseconds; tests inject one. */
  now?: () => number;
}

interface KindInstruments {
  readonly duration: Histogram;
  readonly requestBodySize: Histogram;
  readonly responseBodySize: Histogram;
}

interface ServiceMeters {
  readonly provider: MeterProvider;
  readonly instruments: Partial<Record<SpanKind, KindInstruments>>;
  /** Attribute sets already recorded, by cache key. */
  readonly series: Map<string, Attributes>;
}

export class OtlpMetrics {
  readonly #options: OtlpMetricsOptions;
  readonly #services: ServiceSlots<ServiceMeters>;
  readonly #pending = new Set<Promise<void>>();
  readonly #ttlMs: number;
  readonly #maxSeries: number;
  readonly #hostName: string;
  readonly #now: () => number;
  #seriesCount = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** Validates the options; throws, naming the field, when they cannot work. */
  constructor(options: OtlpMetricsOptions) {
    checkProtocol(options, "metrics");
    signalUrl(options, "metrics");
    this.#options = options;
    this.#ttlMs = options.ttlMs ?? 5 * 60_000;
    this.#maxSeries = options.maxSeries ?? 10_000;
    this.#hostName = options.hostName ?? hostname();
    this.#now = options.now ?? Date.now;
    this.#services = new ServiceSlots({
      maxServices: options.maxServices ?? 256,
      create: (identity) => this.#createMeters(identity),
    });
  }

  get serviceCount(): number {
    return this.#services.size;
  }

  get seriesCount(): number {
    return this.#seriesCount;
  }

  /** Starts the expiry timer (unref'ed). */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => this.sweep(), sweepIntervalMs(this.#ttlMs));
    this.#timer.unref();
  }

  /** Records one span. Spans marked ignore: "metrics" are skipped. Never throws. */
  record(span: RequestSpan): void {
    if (span.ignore === "metrics" || this.#closed) return;
    const slot = this.#services.get(span.service, this.#now());
    if (slot === undefined) return this.#options.internal?.seriesDropped();
    const attributes = this.#seriesAttributes(slot, span);
    if (attributes === undefined) return this.#options.internal?.seriesDropped();
    const instruments = this.#instruments(slot.state, span.kind);
    instruments.duration.record(durationSeconds(span), attributes);
    if (span.requestBodySize >= 0) {
      instruments.requestBodySize.record(span.requestBodySize, attributes);
    }
    if (span.responseBodySize >= 0) {
      instruments.responseBodySize.record(span.responseBodySize, attributes);
    }
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

  /** Exports what every provider holds now. */
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

  #seriesAttributes(slot: ServiceSlot<ServiceMeters>, span: RequestSpan): Attributes | undefined {
    const method = normalizeMethod(span.method);
    const route = span.route ?? "";
    const key =
      `${span.kind}\u0000${method}\u0000${span.statusCode}\u0000${route}` +
      `\u0000${span.serverAddress}\u0000${span.serverPort}`;
    const series = slot.state.series;
    const known = series.get(key);
    if (known !== undefined) return known;
    if (this.#seriesCount >= this.#maxSeries) return undefined;
    const attributes: Attributes = {
      [ATTR.httpRequestMethod]: method,
      [ATTR.httpResponseStatusCode]: span.statusCode,
      [ATTR.urlScheme]: "http",
      [ATTR.serverAddress]: span.serverAddress,
      [ATTR.serverPort]: span.serverPort,
    };
    if (route !== "") attributes[ATTR.httpRoute] = route;
    series.set(key, attributes);
    this.#seriesCount++;
    return attributes;
  }

  #instruments(meters: ServiceMeters, kind: SpanKind): KindInstruments {
    const existing = meters.instruments[kind];
    if (existing !== undefined) return existing;
    const meter = meters.provider.getMeter(TELEMETRY_SDK_NAME, TELEMETRY_SDK_VERSION);
    const names: KindHistograms = kind === "server" ? SERVER_HISTOGRAMS : CLIENT_HISTOGRAMS;
    const histogram = (name: HistogramName, buckets: readonly number[]): Histogram =>
      meter.createHistogram(name.otel, {
        description: name.help,
        unit: name.unit,
        advice: { explicitBucketBoundaries: [...buckets] },
      });
    const created: KindInstruments = {
      duration: histogram(names.duration, DURATION_BUCKETS_SECONDS),
      requestBodySize: histogram(names.requestBodySize, SIZE_BUCKETS_BYTES),
      responseBodySize: histogram(names.responseBodySize, SIZE_BUCKETS_BYTES),
    };
    meters.instruments[kind] = created;
    return created;
  }

  #createMeters(identity: ServiceIdentity): ServiceMeters {
    const internal = this.#options.internal;
    const exporter = createMetricExporter(this.#options, () =>
      internal?.exportFailure("otlp_metrics"),
    );
    const intervalMs = this.#options.intervalMs ?? 60_000;
    const reader = new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: intervalMs,
      exportTimeoutMillis: Math.min(intervalMs, this.#options.timeoutMs ?? 10_000),
      cardinalityLimits: { default: this.#maxSeries + 1 },
    });
    const provider = new MeterProvider({
      resource: resourceFromAttributes(resourceAttributes(identity, this.#hostName)),
      readers: [reader],
    });
    return { provider, instruments: {}, series: new Map() };
  }

  #retire(slot: ServiceSlot<ServiceMeters>): void {
    this.#seriesCount -= slot.state.series.size;
    slot.state.series.clear();
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
