export { ConfigError, type ConfigErrorOptions, type ConfigSource } from "./config/config-error.js";
export { parseDuration } from "./config/duration.js";
export { expandEnv, type Env } from "./config/expand-env.js";
export { loadAgentConfig, type LoadAgentConfigOptions } from "./config/load.js";
export { PortRanges, type PortRange } from "./config/port-ranges.js";
export { Regex } from "./config/regex.js";
export {
  findSelector,
  matchesSelector,
  type K8sProcessInfo,
  type ProcessInfo,
} from "./config/selector.js";
export type {
  AgentConfig,
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
