/**
 * The agent's own metrics, in a registry of their own that the /metrics endpoint appends
 * to the application metrics.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Counter, Gauge, Registry } from "prom-client";

/** Exporters that can report failures. */
export type ExporterName = "otlp_metrics" | "otlp_traces" | "prometheus" | "trace_printer";

export const INTERNAL_METRIC = {
  recordsReceived: "beyla_ebpf_records_received_total",
  recordsDropped: "beyla_ebpf_records_dropped_total",
  parseFailures: "beyla_parse_failures_total",
  exportFailures: "beyla_export_failures_total",
  seriesDropped: "beyla_series_dropped_total",
  spansDropped: "beyla_spans_dropped_total",
  instrumentedProcesses: "beyla_instrumented_processes",
  requestsDiscarded: "beyla_requests_discarded_total",
  discoveryDropped: "beyla_discovery_dropped_total",
  eventLoopDelayMax: "beyla_event_loop_delay_max_seconds",
  eventLoopDelayP99: "beyla_event_loop_delay_p99_seconds",
} as const;

/** Reads the kernel's running total of dropped records (e.g. ring buffer reserve failures). */
export type KernelDropsSource = () => number;

/** Running totals kept elsewhere (kernel maps, pipeline counters); counters follow them. */
export interface InternalTotals {
  recordsReceived?: number;
  recordsDropped?: number;
  parseFailures?: number;
  instrumentedProcesses?: number;
  /** Requests thrown away on purpose, by reason (running totals). */
  discarded?: Readonly<Record<string, number>>;
  /**
   * What discovery left out at a bound, by reason (running totals): "process_limit" (a
   * matching process, each time it was considered), "hints_full" (a listen event).
   */
  discoveryDropped?: Readonly<Record<string, number>>;
}

/** A counter that follows a running total kept elsewhere (which may restart from 0). */
class TotalFollower {
  #last = 0;

  constructor(private readonly counter: { inc(delta: number): void }) {}

  follow(total: number): void {
    if (!Number.isFinite(total) || total < 0) return;
    // A total lower than the last one means its source restarted: count from 0 again.
    const delta = total >= this.#last ? total - this.#last : total;
    if (delta > 0) this.counter.inc(delta);
    this.#last = total;
  }
}

export class InternalMetrics {
  readonly registry = new Registry();
  readonly #recordsReceived: Counter<string>;
  readonly #parseFailures: Counter<string>;
  readonly #exportFailures: Counter<"exporter">;
  readonly #seriesDropped: Counter<string>;
  readonly #spansDropped: Counter<"reason">;
  readonly #instrumented: Gauge<string>;
  readonly #discarded: Counter<"reason">;
  readonly #discardedTotals = new Map<string, TotalFollower>();
  readonly #discoveryDropped: Counter<"reason">;
  readonly #discoveryDroppedTotals = new Map<string, TotalFollower>();
  readonly #receivedTotal: TotalFollower;
  readonly #droppedTotal: TotalFollower;
  readonly #parseFailuresTotal: TotalFollower;
  #kernelDrops: KernelDropsSource | undefined;

  /**
   * `watchEventLoop`: also export the event loop's delay. It is sampled by a 10 ms timer, which
   * wakes the agent 100 times a second even when idle (about 7 ms of CPU per second here), so
   * it runs only when the internal metrics are asked for (`internal_metrics.exporter`).
   */
  constructor(options: { watchEventLoop?: boolean } = {}) {
    const registers = [this.registry];
    this.#recordsReceived = new Counter({
      name: INTERNAL_METRIC.recordsReceived,
      help: "Records read from the kernel ring buffer",
      registers,
    });
    const readKernelDrops = (): void => this.#readKernelDrops();
    const recordsDropped = new Counter({
      name: INTERNAL_METRIC.recordsDropped,
      help: "Records the kernel dropped before the agent could read them",
      registers,
      collect: readKernelDrops,
    });
    this.#parseFailures = new Counter({
      name: INTERNAL_METRIC.parseFailures,
      help: "Captured payloads that could not be parsed",
      registers,
    });
    this.#exportFailures = new Counter({
      name: INTERNAL_METRIC.exportFailures,
      help: "Failed export attempts, by exporter",
      labelNames: ["exporter"],
      registers,
    });
    this.#seriesDropped = new Counter({
      name: INTERNAL_METRIC.seriesDropped,
      help: "Metric series not created because a cardinality limit was reached",
      registers,
    });
    this.#spansDropped = new Counter({
      name: INTERNAL_METRIC.spansDropped,
      help: "Trace spans dropped before export, by reason",
      labelNames: ["reason"],
      registers,
    });
    this.#instrumented = new Gauge({
      name: INTERNAL_METRIC.instrumentedProcesses,
      help: "Processes currently instrumented",
      registers,
    });
    this.#discarded = new Counter({
      name: INTERNAL_METRIC.requestsDiscarded,
      help: "Requests not turned into spans, by reason (unanswered, connection_table_full, unknown_process, ignored)",
      labelNames: ["reason"],
      registers,
    });
    this.#discoveryDropped = new Counter({
      name: INTERNAL_METRIC.discoveryDropped,
      help: "Processes or listen events discovery left out at a bound, by reason (process_limit, hints_full)",
      labelNames: ["reason"],
      registers,
    });
    if (options.watchEventLoop === true) this.#watchEventLoop(registers);
    this.#receivedTotal = new TotalFollower(this.#recordsReceived);
    this.#droppedTotal = new TotalFollower(recordsDropped);
    this.#parseFailuresTotal = new TotalFollower(this.#parseFailures);
  }

  recordsReceived(count = 1): void {
    this.#recordsReceived.inc(count);
  }

  /** Where beyla_ebpf_records_dropped_total comes from: read at each scrape. */
  setKernelDropsSource(source: KernelDropsSource): void {
    this.#kernelDrops = source;
  }

  /**
   * Running totals from a stats callback. Don't mix with recordsReceived()/parseFailure()
   * for the same counter.
   */
  updateTotals(totals: InternalTotals): void {
    if (totals.recordsReceived !== undefined) this.#receivedTotal.follow(totals.recordsReceived);
    if (totals.recordsDropped !== undefined) this.#droppedTotal.follow(totals.recordsDropped);
    if (totals.parseFailures !== undefined) this.#parseFailuresTotal.follow(totals.parseFailures);
    for (const [reason, value] of Object.entries(totals.discarded ?? {})) {
      labelledFollower(this.#discarded, this.#discardedTotals, reason).follow(value);
    }
    for (const [reason, value] of Object.entries(totals.discoveryDropped ?? {})) {
      labelledFollower(this.#discoveryDropped, this.#discoveryDroppedTotals, reason).follow(value);
    }
    if (totals.instrumentedProcesses !== undefined) {
      this.setInstrumentedProcesses(totals.instrumentedProcesses);
    }
  }

  /**
   * The event loop's delay since the previous scrape (max and p99), sampled every 10 ms:
   * a stalled loop delays capture drains and scrapes alike.
   */
  #watchEventLoop(registers: Registry[]): void {
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    let max = 0;
    let p99 = 0;
    const sample = (): void => {
      max = histogram.max / 1e9;
      p99 = histogram.percentile(99) / 1e9;
      histogram.reset();
    };
    new Gauge({
      name: INTERNAL_METRIC.eventLoopDelayMax,
      help: "Longest event loop delay since the previous scrape",
      registers,
      collect() {
        sample();
        this.set(max);
      },
    });
    new Gauge({
      name: INTERNAL_METRIC.eventLoopDelayP99,
      help: "99th percentile of the event loop delay since the previous scrape",
      registers,
      collect() {
        this.set(p99);
      },
    });
  }

  parseFailure(count = 1): void {
    this.#parseFailures.inc(count);
  }

  exportFailure(exporter: ExporterName, count = 1): void {
    this.#exportFailures.inc({ exporter }, count);
  }

  seriesDropped(count = 1): void {
    this.#seriesDropped.inc(count);
  }

  /** reason: "queue_full" (batch queue bound) or "service_limit" (too many services). */
  spansDropped(reason: "queue_full" | "service_limit", count = 1): void {
    this.#spansDropped.inc({ reason }, count);
  }

  setInstrumentedProcesses(count: number): void {
    this.#instrumented.set(count);
  }

  /** The registry as Prometheus text. */
  async *collect(): AsyncGenerator<string> {
    yield await this.registry.metrics();
  }

  /** A stats source that throws or returns garbage leaves the counter as it was. */
  #readKernelDrops(): void {
    if (this.#kernelDrops === undefined) return;
    try {
      this.#droppedTotal.follow(this.#kernelDrops());
    } catch {
      // a scrape must not fail because a stats read did
    }
  }
}

/** The follower of `counter{reason}`, made on first use. */
function labelledFollower(
  counter: Counter<"reason">,
  followers: Map<string, TotalFollower>,
  reason: string,
): TotalFollower {
  let follower = followers.get(reason);
  if (!follower) {
    const labelled = counter.labels({ reason });
    follower = new TotalFollower({ inc: (n: number) => labelled.inc(n) });
    followers.set(reason, follower);
  }
  return follower;
}
