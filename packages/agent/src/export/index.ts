export { ExporterHub, type ExporterHubOptions, type HttpServerOptions } from "./exporter-hub.js";
export {
  type ExporterName,
  INTERNAL_METRIC,
  InternalMetrics,
  type InternalTotals,
  type KernelDropsSource,
} from "./internal-metrics.js";
export {
  ATTR,
  CLIENT_HISTOGRAMS,
  DURATION_BUCKETS_SECONDS,
  type HistogramName,
  HTTP_CLIENT_DURATION,
  HTTP_CLIENT_REQUEST_BODY_SIZE,
  HTTP_CLIENT_RESPONSE_BODY_SIZE,
  HTTP_SERVER_DURATION,
  HTTP_SERVER_REQUEST_BODY_SIZE,
  HTTP_SERVER_RESPONSE_BODY_SIZE,
  PROM_LABEL,
  RESOURCE,
  SERVER_HISTOGRAMS,
  SIZE_BUCKETS_BYTES,
  TARGET_INFO,
} from "./metric-names.js";
export {
  checkProtocol,
  type OtlpEndpointOptions,
  type OtlpProtocol,
  signalUrl,
} from "./otlp-config.js";
export { OtlpMetrics, type OtlpMetricsOptions } from "./otlp-metrics.js";
export { OtlpTraces, type OtlpTracesOptions, spanAttributes, spanName } from "./otlp-traces.js";
export { PrometheusMetrics, type PrometheusMetricsOptions } from "./prometheus-metrics.js";
export {
  formatTextLine,
  parseTracePrinterMode,
  spanJson,
  TracePrinter,
  type TracePrinterMode,
  type TracePrinterOptions,
} from "./trace-printer.js";
