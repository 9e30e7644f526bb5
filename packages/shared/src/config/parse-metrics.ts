import { ConfigError } from "./config-error.js";
import type { EnvReader } from "./env-reader.js";
import type { PrometheusConfig } from "./types.js";
import type { YamlObject } from "./yaml-object.js";

export const PROMETHEUS_KEYS = ["port", "path", "ttl"];
export const PROMETHEUS_IGNORED_KEYS = [
  "features",
  "instrumentations",
  "buckets",
  "extra_resource_attributes",
  "allow_service_graph_self_references",
];

export const DEFAULT_METRICS_TTL_MS = 5 * 60_000;
export const DEFAULT_MAX_SERIES = 10_000;
const MAX_SERIES_LIMIT = 10_000_000;

/**
 * `prometheus_export` with BEYLA_PROMETHEUS_PORT / BEYLA_PROMETHEUS_PATH over it. Port 0 or no
 * port means no scrape endpoint, as in the reference agent.
 */
export function parsePrometheus(section: YamlObject, env: EnvReader): PrometheusConfig | undefined {
  const port = env.int("BEYLA_PROMETHEUS_PORT", 0, 65535) ?? section.int("port", 0, 65535) ?? 0;
  const fromEnv = env.string("BEYLA_PROMETHEUS_PATH");
  const path = fromEnv ?? section.string("path") ?? "/metrics";
  if (!path.startsWith("/")) {
    const field = fromEnv !== undefined ? "BEYLA_PROMETHEUS_PATH" : section.fieldPath("path");
    throw new ConfigError(field, path, 'a URL path starting with "/", e.g. "/metrics"', {
      source: fromEnv !== undefined ? "env" : "yaml",
    });
  }
  return port === 0 ? undefined : { port, path };
}

/**
 * One TTL for every exporter (this agent keeps one set of series). Precedence: BEYLA_METRICS_TTL,
 * then BEYLA_PROMETHEUS_TTL / BEYLA_OTEL_METRICS_TTL, then YAML `prometheus_export.ttl` /
 * `otel_metrics_export.ttl`, then 5 minutes. When two values at the same level differ, the
 * shorter wins (a series may then vanish early, never linger) and a warning says so.
 */
export function resolveMetricsTtl(
  prometheus: YamlObject,
  otelMetrics: YamlObject,
  env: EnvReader,
  warnings: string[],
): number {
  const general = env.duration("BEYLA_METRICS_TTL", 1);
  const envLevel = pick(
    [
      ["BEYLA_PROMETHEUS_TTL", env.duration("BEYLA_PROMETHEUS_TTL", 1)],
      ["BEYLA_OTEL_METRICS_TTL", env.duration("BEYLA_OTEL_METRICS_TTL", 1)],
    ],
    warnings,
  );
  const yamlLevel = pick(
    [
      [prometheus.fieldPath("ttl"), prometheus.duration("ttl", 1)],
      [otelMetrics.fieldPath("ttl"), otelMetrics.duration("ttl", 1)],
    ],
    warnings,
  );
  return general ?? envLevel ?? yamlLevel ?? DEFAULT_METRICS_TTL_MS;
}

function pick(candidates: [string, number | undefined][], warnings: string[]): number | undefined {
  const set = candidates.filter((c): c is [string, number] => c[1] !== undefined);
  if (set.length === 0) return undefined;
  const min = Math.min(...set.map((c) => c[1]));
  if (set.some((c) => c[1] !== min)) {
    warnings.push(
      `config: ${set.map((c) => `"${c[0]}"`).join(" and ")} differ; this agent keeps one metrics TTL and uses the shorter, ${min}ms`,
    );
  }
  return min;
}

/**
 * The cardinality limit, a key of this agent (the reference agent has none): top-level
 * `metrics_max_series` or BEYLA_METRICS_MAX_SERIES; default 10000 series per metric.
 */
export function resolveMaxSeries(root: YamlObject, env: EnvReader): number {
  return (
    env.int("BEYLA_METRICS_MAX_SERIES", 1, MAX_SERIES_LIMIT) ??
    root.int("metrics_max_series", 1, MAX_SERIES_LIMIT) ??
    DEFAULT_MAX_SERIES
  );
}
