export { ConfigError, type ConfigErrorOptions, type ConfigSource } from "./config/config-error.js";
export {
  BearerAuth,
  serviceAccountUsername,
  type AuthVerdict,
  type BearerAuthOptions,
  type TokenReviewFn,
  type TokenReviewResult,
} from "./crd/bearer-auth.js";
export { requestJson, type JsonRequest, type JsonResponse } from "./crd/json-client.js";
export {
  INSTRUMENTATIONS,
  METRICS_FEATURES,
  instrumentationLabel,
  parseInstrumentationSpec,
} from "./crd/parse-spec.js";
export {
  canonicalJson,
  makeSelectorSet,
  readApplyAnswer,
  readSelectorSet,
  selectorSetHash,
  sortResources,
  type ApplyAnswer,
  type ResolvedExport,
  type RejectedByAgent,
  type SelectedCount,
  type SelectorSet,
  type SelectorSetResource,
} from "./crd/selector-set.js";
export type {
  ExportSpec,
  Instrumentation,
  InstrumentationRef,
  InstrumentationSpec,
  MetricsFeature,
  MetricsSpec,
  OtlpExportSpec,
  SecretKeyRef,
} from "./crd/types.js";
export { parseDuration } from "./config/duration.js";
export { parseOtlpHeaders } from "./config/otlp-headers.js";
export { guessOtlpProtocol } from "./config/otlp.js";
export { expandEnv, type Env } from "./config/expand-env.js";
export { loadAgentConfig, type LoadAgentConfigOptions } from "./config/load.js";
export { PortRanges, type PortRange } from "./config/port-ranges.js";
export { Regex } from "./config/regex.js";
export {
  findSelector,
  hasK8sCriteria,
  matchesSelector,
  type K8sProcessInfo,
  type ProcessInfo,
} from "./config/selector.js";
export type {
  AgentConfig,
  CaptureHooksChoice,
  ControlConfig,
  DiscoveryConfig,
  IgnoreMode,
  KubernetesConfig,
  LogLevel,
  OtlpExportConfig,
  OtlpProtocol,
  PrometheusConfig,
  RoutesConfig,
  ServiceSelector,
  TracePrinter,
  UnmatchedMode,
} from "./config/types.js";
export { heuristicRoute } from "./routes/heuristic.js";
export { type CacheStats } from "./routes/bounded-cache.js";
export {
  RouteMatcher,
  type IgnoreVerdict,
  type RouteMatcherOptions,
} from "./routes/route-matcher.js";
export {
  ATTRIBUTES,
  DURATION_BUCKETS_SECONDS,
  METRICS,
  SIZE_BUCKETS_BYTES,
  prometheusLabelName,
  type AttributeName,
  type MetricName,
} from "./semconv.js";
