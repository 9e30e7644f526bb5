/**
 * The OTLP sinks, loaded on demand: the OpenTelemetry SDK and its exporters add about 17 MB
 * to the agent's RSS, which an agent that only serves /metrics must not pay.
 */
import type { OtlpMetrics } from "./otlp-metrics.js";
import type { OtlpTraces } from "./otlp-traces.js";

export interface OtlpSinkClasses {
  OtlpMetrics: typeof OtlpMetrics;
  OtlpTraces: typeof OtlpTraces;
}

export async function loadOtlpSinks(): Promise<OtlpSinkClasses> {
  const [{ OtlpMetrics }, { OtlpTraces }] = await Promise.all([
    import("./otlp-metrics.js"),
    import("./otlp-traces.js"),
  ]);
  return { OtlpMetrics, OtlpTraces };
}
