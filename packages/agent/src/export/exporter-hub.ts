/**
 * The exporters behind one facade: every finished RequestSpan goes to each enabled sink
 * (Prometheus histograms, OTLP metrics, OTLP traces, the trace printer), and the HTTP
 * server exposes the Prometheus text, liveness and readiness.
 *
 * A sink that throws never stops the others or the pipeline: the failure is counted in
 * beyla_export_failures_total{exporter}. Shutdown runs in order: stop timers, flush, close.
 */
import type { RequestSpan, ServiceIdentity } from "../request-span.js";
import { AgentHttpServer, type MetricsSource, type Readiness } from "../server/http-server.js";
import { ExportTargets, type ProcessExport } from "./export-targets.js";
import { type InternalTotals, InternalMetrics } from "./internal-metrics.js";
import type { OtlpMetrics, OtlpMetricsOptions } from "./otlp-metrics.js";
import { loadOtlpSinks, type OtlpSinkClasses } from "./otlp-sinks.js";
import type { OtlpTraces, OtlpTracesOptions } from "./otlp-traces.js";
import { PrometheusMetrics, type PrometheusMetricsOptions } from "./prometheus-metrics.js";
import { TracePrinter, type TracePrinterMode } from "./trace-printer.js";

export interface HttpServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Default "0.0.0.0". */
  host?: string;
  /** Default "/metrics". */
  metricsPath?: string;
}

export interface ExporterHubOptions {
  /** Application metrics for the scrape endpoint; omitted: none. */
  prometheus?: PrometheusMetricsOptions;
  /** /metrics (application + internal metrics), /healthz, /readyz; omitted: no server. */
  server?: HttpServerOptions;
  /** OTLP metrics push; omitted: none. */
  otlpMetrics?: Omit<OtlpMetricsOptions, "internal">;
  /** OTLP traces push; omitted: none. */
  otlpTraces?: Omit<OtlpTracesOptions, "internal">;
  /** Default "disabled". */
  tracePrinter?: TracePrinterMode;
  /** Where the trace printer writes. Default: process.stdout. */
  tracePrinterWrite?: (text: string) => void;
  /** The agent's own counters; created when not given. */
  internal?: InternalMetrics;
  /** When `internal` is created here: export the event loop's delay too (InternalMetrics). */
  watchEventLoop?: boolean;
  /** Asked at /readyz. Default: ready once start() has completed. */
  readiness?: () => Readiness | boolean;
}

export class ExporterHub implements ProcessExport {
  readonly internal: InternalMetrics;
  readonly prometheus: PrometheusMetrics | undefined;
  readonly otlpMetrics: OtlpMetrics | undefined;
  readonly otlpTraces: OtlpTraces | undefined;
  readonly printer: TracePrinter | undefined;
  readonly server: AgentHttpServer | undefined;
  /** The agent's own exporters, where every process's telemetry goes by default. */
  readonly targets: ExportTargets;
  #started = false;
  #closed = false;
  #shutdown: Promise<void> | undefined;

  /**
   * Loads the OTLP sinks when an OTLP exporter is enabled (otlp-sinks.ts), then builds the hub.
   * Rejects, naming the field, on bad options.
   */
  static async create(options: ExporterHubOptions): Promise<ExporterHub> {
    const needsOtlp = options.otlpMetrics !== undefined || options.otlpTraces !== undefined;
    return new ExporterHub(options, needsOtlp ? await loadOtlpSinks() : undefined);
  }

  /**
   * Builds and validates every enabled sink; throws, naming the field, on bad options. OTLP
   * sinks need their classes (`create()` loads them).
   */
  constructor(options: ExporterHubOptions, otlp?: OtlpSinkClasses) {
    const internal =
      options.internal ?? new InternalMetrics({ watchEventLoop: options.watchEventLoop === true });
    this.internal = internal;
    if (options.prometheus !== undefined) {
      const onDropped = options.prometheus.onSeriesDropped;
      this.prometheus = new PrometheusMetrics({
        ...options.prometheus,
        onSeriesDropped: (n) => {
          internal.seriesDropped(n);
          onDropped?.(n);
        },
      });
    }
    if ((options.otlpMetrics !== undefined || options.otlpTraces !== undefined) && !otlp) {
      throw new Error("ExporterHub: OTLP exporters need ExporterHub.create()");
    }
    if (options.otlpMetrics !== undefined && otlp) {
      this.otlpMetrics = new otlp.OtlpMetrics({ ...options.otlpMetrics, internal });
    }
    if (options.otlpTraces !== undefined && otlp) {
      this.otlpTraces = new otlp.OtlpTraces({ ...options.otlpTraces, internal });
    }
    const mode = options.tracePrinter ?? "disabled";
    if (mode !== "disabled") {
      this.printer = new TracePrinter({ mode, write: options.tracePrinterWrite });
    }
    this.targets = new ExportTargets(
      {
        prometheus: this.prometheus,
        otlpMetrics: this.otlpMetrics,
        otlpTraces: this.otlpTraces,
        printer: this.printer,
      },
      internal,
      () => this.#closed,
    );
    if (options.server !== undefined) {
      const sources: MetricsSource[] = this.prometheus ? [this.prometheus, internal] : [internal];
      this.server = new AgentHttpServer({
        ...options.server,
        sources,
        readiness: options.readiness ?? (() => this.#started && !this.#closed),
      });
    }
  }

  /** Sends one finished span to every enabled sink. Never throws. */
  record(span: RequestSpan): void {
    this.targets.record(span);
  }

  recordBatch(spans: readonly RequestSpan[]): void {
    for (const span of spans) this.record(span);
  }

  /** A process was instrumented: its target_info appears now and lives as long as it. */
  processAdded(service: ServiceIdentity): void {
    this.targets.processAdded(service);
  }

  /**
   * Process `pid` exited (and its last records were handled): its target_info goes, its
   * OTLP providers flush and shut down. Its Prometheus series expire with the TTL.
   */
  processRemoved(pid: number): void {
    this.targets.processRemoved(pid);
  }

  /** Running totals from the stats timer (kernel drops, pipeline counters, processes). */
  updateInternal(totals: InternalTotals): void {
    this.internal.updateTotals(totals);
  }

  /** Starts the expiry timers and the HTTP server. */
  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.prometheus?.start();
    this.otlpMetrics?.start();
    this.otlpTraces?.start();
    try {
      await this.server?.listen();
    } catch (cause) {
      throw new Error("start the agent HTTP server", { cause });
    }
    this.#started = true;
  }

  /** Port of the HTTP server once listening. */
  get serverPort(): number | undefined {
    return this.server?.port;
  }

  /** Stops timers, flushes what is queued, then closes everything. Safe to call twice. */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#shutdownOnce();
    return this.#shutdown;
  }

  async #shutdownOnce(): Promise<void> {
    this.#closed = true;
    this.prometheus?.stop();
    this.otlpMetrics?.stop();
    this.otlpTraces?.stop();
    // Metric providers export one last time as they shut down; flushing them here as well
    // would only send the same cumulative points twice.
    await this.otlpTraces?.flush();
    this.printer?.shutdown();
    await Promise.all([this.otlpMetrics?.shutdown(), this.otlpTraces?.shutdown()]);
    await this.server?.close();
  }
}
