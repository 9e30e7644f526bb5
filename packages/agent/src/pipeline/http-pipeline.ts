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
  /** Routes of the processes whose BeylaInstrumentation has its own (else `router`). */
  private readonly routers = new Map<number, Router>();

  constructor(
    private readonly services: ServiceRegistry,
    private readonly router: Router,
    private readonly sinks: SpanSink[],
  ) {}

  /** `pid` is routed by `router` from now on; undefined: by the agent's own routes again. */
  setRouter(pid: number, router: Router | undefined): void {
    if (router) this.routers.set(pid, router);
    else this.routers.delete(pid);
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
    const router = this.routers.get(record.pid) ?? this.router;
    const ignore = router.ignored(span.path);
    if (ignore === "all") {
      this.counts.ignored++;
      return;
    }
    span.ignore = ignore;
    span.route = router.route(span.path);
    for (const sink of this.sinks) sink.record(span);
  }
}
