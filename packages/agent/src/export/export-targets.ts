/**
 * One set of exporters a process's telemetry goes to: the agent's own (ExporterHub), or, for
 * a process whose BeylaInstrumentation has `spec.export`, the agent's own with the resource's
 * destinations in place of the agent's of the same kind.
 */
import type { RequestSpan, ServiceIdentity } from "../request-span.js";
import type { ExporterName, InternalMetrics } from "./internal-metrics.js";
import type { OtlpMetrics } from "./otlp-metrics.js";
import type { OtlpTraces } from "./otlp-traces.js";
import type { PrometheusMetrics } from "./prometheus-metrics.js";
import type { TracePrinter } from "./trace-printer.js";

/** Where one process's telemetry goes: its spans, and its target_info while it lives. */
export interface ProcessExport {
  record(span: RequestSpan): void;
  /** The process was instrumented: its target_info appears now. */
  processAdded(service: ServiceIdentity): void;
  /** The process is gone (or goes elsewhere): its target_info goes, its OTLP providers flush. */
  processRemoved(pid: number): void;
}

export interface Targets {
  prometheus?: PrometheusMetrics;
  otlpMetrics?: OtlpMetrics;
  otlpTraces?: OtlpTraces;
  printer?: TracePrinter;
}

interface Sink {
  readonly name: ExporterName;
  record(span: RequestSpan): void;
}

/** Sends spans to each target; one that throws is counted and never stops the others. */
export class ExportTargets implements ProcessExport {
  readonly #sinks: Sink[] = [];

  constructor(
    private readonly targets: Targets,
    private readonly internal: InternalMetrics,
    /** True once the agent shuts down: spans are then dropped. */
    private readonly closed: () => boolean = () => false,
  ) {
    const { prometheus, otlpMetrics, otlpTraces, printer } = targets;
    if (prometheus) this.#sinks.push({ name: "prometheus", record: (s) => prometheus.record(s) });
    if (otlpMetrics) {
      this.#sinks.push({ name: "otlp_metrics", record: (s) => otlpMetrics.record(s) });
    }
    if (otlpTraces) this.#sinks.push({ name: "otlp_traces", record: (s) => otlpTraces.record(s) });
    if (printer) this.#sinks.push({ name: "trace_printer", record: (s) => printer.record(s) });
  }

  /** These targets with some replaced (`undefined` values keep the current target). */
  with(replacements: Targets): ExportTargets {
    const t = this.targets;
    const merged: Targets = {
      prometheus: replacements.prometheus ?? t.prometheus,
      otlpMetrics: replacements.otlpMetrics ?? t.otlpMetrics,
      otlpTraces: replacements.otlpTraces ?? t.otlpTraces,
      printer: replacements.printer ?? t.printer,
    };
    return new ExportTargets(merged, this.internal, this.closed);
  }

  record(span: RequestSpan): void {
    if (this.closed()) return;
    for (const sink of this.#sinks) {
      try {
        sink.record(span);
      } catch {
        this.internal.exportFailure(sink.name);
      }
    }
  }

  processAdded(service: ServiceIdentity): void {
    this.#guard("prometheus", () => this.targets.prometheus?.serviceStarted(service));
  }

  processRemoved(pid: number): void {
    this.#guard("prometheus", () => this.targets.prometheus?.serviceStopped(pid));
    this.#guard("otlp_metrics", () => this.targets.otlpMetrics?.serviceStopped(pid));
    this.#guard("otlp_traces", () => this.targets.otlpTraces?.serviceStopped(pid));
  }

  #guard(name: ExporterName, run: () => void): void {
    try {
      run();
    } catch {
      this.internal.exportFailure(name);
    }
  }
}
