import type { HttpEventRecord } from "@beyla-ts/ebpf-native";
import type { RequestSpan } from "../request-span.js";
import { MonotonicClock } from "./clock.js";
import { recordToSpan } from "./record-to-span.js";
import type { ServiceRegistry } from "./service-registry.js";

export interface SpanSink {
  record(span: RequestSpan): void;
}

/** The part of the route matcher the pipeline uses. */
export interface Router {
  route(path: string): string | undefined;
  ignored(path: string): "none" | "all" | "traces" | "metrics";
}

/**
 * What a BeylaInstrumentation decides for the spans of a process it selects, where it says
 * more than the agent's configuration.
 */
export interface ProcessPolicy {
  /** `spec.routes`; absent: the agent's own routes. */
  router?: Router;
  /** False when `spec.metrics` turns HTTP metrics off: the spans go to traces only. */
  metrics: boolean;
  /** `spec.export`: where the spans go instead of the pipeline's sinks. */
  sink?: SpanSink;
}

/** Counts of what the pipeline received and threw away, for the agent's own metrics. */
export interface PipelineCounts {
  received: number;
  parseFailures: number;
  unknownProcess: number;
  ignored: number;
}

/** Kernel record -> span -> ignore filter -> route -> sinks. Never throws. */
export class HttpPipeline {
  readonly counts: PipelineCounts = {
    received: 0,
    parseFailures: 0,
    unknownProcess: 0,
    ignored: 0,
  };
  private readonly clock = new MonotonicClock();
  /** Policies of the processes a BeylaInstrumentation selects. */
  private readonly policies = new Map<number, ProcessPolicy>();

  constructor(
    private readonly services: ServiceRegistry,
    private readonly router: Router,
    private readonly sinks: SpanSink[],
  ) {}

  /** `pid`'s spans follow `policy` from now on; undefined: the agent's configuration again. */
  setPolicy(pid: number, policy: ProcessPolicy | undefined): void {
    if (policy) this.policies.set(pid, policy);
    else this.policies.delete(pid);
  }

  handle(record: HttpEventRecord): void {
    this.counts.received++;
    const service = this.services.get(record.pid);
    if (!service) {
      this.counts.unknownProcess++;
      return;
    }
    const span = recordToSpan(record, service, this.clock);
    if (!span) {
      this.counts.parseFailures++;
      return;
    }
    const policy = this.policies.get(record.pid);
    const router = policy?.router ?? this.router;
    let ignore = router.ignored(span.path);
    if (policy?.metrics === false) ignore = withoutMetrics(ignore);
    if (ignore === "all") {
      this.counts.ignored++;
      return;
    }
    span.ignore = ignore;
    span.route = router.route(span.path);
    if (policy?.sink) policy.sink.record(span);
    else for (const sink of this.sinks) sink.record(span);
  }
}

/** The ignore flag once metrics are off as well. */
function withoutMetrics(ignore: "none" | "all" | "traces" | "metrics"): "all" | "metrics" {
  return ignore === "traces" || ignore === "all" ? "all" : "metrics";
}
