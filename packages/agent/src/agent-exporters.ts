import type { AgentConfig } from "@beyla-ts/shared";
import { ExporterHub, type ExporterHubOptions } from "./export/exporter-hub.js";

/** Maps the agent configuration onto the exporters it enables. */
export function exporterOptions(config: AgentConfig, isReady: () => boolean): ExporterHubOptions {
  const limits = { ttlMs: config.metricsTtlMs, maxSeries: config.maxSeries };
  const options: ExporterHubOptions = {
    tracePrinter: config.tracePrinter,
    readiness: isReady,
    watchEventLoop: config.internalMetrics,
  };
  if (config.prometheus) {
    options.prometheus = limits;
    options.server = { port: config.prometheus.port, metricsPath: config.prometheus.path };
  }
  if (config.otelMetrics) {
    const m = config.otelMetrics;
    options.otlpMetrics = {
      endpoint: m.endpoint,
      signalEndpoint: m.endpoint,
      protocol: m.protocol,
      headers: m.headers,
      insecureSkipVerify: m.insecureSkipVerify,
      intervalMs: m.intervalMs,
      ...limits,
    };
  }
  if (config.otelTraces) {
    const t = config.otelTraces;
    options.otlpTraces = {
      endpoint: t.endpoint,
      signalEndpoint: t.endpoint,
      protocol: t.protocol,
      headers: t.headers,
      insecureSkipVerify: t.insecureSkipVerify,
      scheduledDelayMs: t.intervalMs,
      ttlMs: config.metricsTtlMs,
    };
  }
  return options;
}

export function createExporters(config: AgentConfig, isReady: () => boolean): Promise<ExporterHub> {
  return ExporterHub.create(exporterOptions(config, isReady));
}
