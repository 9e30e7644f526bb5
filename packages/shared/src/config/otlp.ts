import { ConfigError, type ConfigSource } from "./config-error.js";
import type { EnvReader } from "./env-reader.js";
import { parseOtlpHeaders } from "./otlp-headers.js";
import type { OtlpExportConfig, OtlpProtocol } from "./types.js";
import type { YamlObject } from "./yaml-object.js";

export type OtlpSignal = "metrics" | "traces";

export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ["http/protobuf", "http/json", "grpc"];
const URL_ALLOWED = "an http:// or https:// URL, e.g. http://localhost:4318";

/** YAML keys of `otel_metrics_export` / `otel_traces_export` that this agent reads. */
export const OTLP_KEYS: Readonly<Record<OtlpSignal, readonly string[]>> = {
  metrics: ["endpoint", "protocol", "headers", "interval", "insecure_skip_verify", "ttl"],
  traces: ["endpoint", "protocol", "headers", "batch_timeout", "insecure_skip_verify"],
};

/** Reference-agent keys accepted with a warning. */
export const OTLP_IGNORED_KEYS: Readonly<Record<OtlpSignal, readonly string[]>> = {
  metrics: [
    "features",
    "instrumentations",
    "buckets",
    "histogram_aggregation",
    "allow_service_graph_self_references",
    "reporters_cache_len",
  ],
  traces: [
    "instrumentations",
    "sampler",
    "max_export_batch_size",
    "max_queue_size",
    "export_timeout",
    "reporters_cache_len",
  ],
};

const DEFAULT_INTERVAL_MS: Readonly<Record<OtlpSignal, number>> = {
  metrics: 60_000,
  traces: 5_000,
};

interface EndpointChoice {
  raw: string;
  field: string;
  source: ConfigSource;
  /** A base URL gets `/v1/<signal>` appended (HTTP protocols only). */
  base: boolean;
}

/**
 * Resolves one OTLP exporter from its YAML section and the environment; undefined when no
 * endpoint is configured for the signal. Precedence, highest first (environment over YAML):
 * - endpoint: OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT (used as-is), OTEL_EXPORTER_OTLP_ENDPOINT
 *   (base), YAML `endpoint` (base, as in the reference agent's examples `http://localhost:4318`).
 *   A base URL gets `/v1/metrics` or `/v1/traces` appended unless its path already ends so;
 *   with grpc nothing is appended (gRPC has no URL path).
 * - protocol: OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL, YAML `protocol`,
 *   else guessed like the reference agent: grpc when the port ends in 4317, else http/protobuf.
 * - headers, merged per key: YAML `headers` < OTEL_EXPORTER_OTLP_HEADERS <
 *   OTEL_EXPORTER_OTLP_<SIGNAL>_HEADERS.
 * - interval: metrics BEYLA_METRICS_INTERVAL, OTEL_METRIC_EXPORT_INTERVAL (ms), YAML `interval`,
 *   60s; traces BEYLA_OTLP_TRACES_BATCH_TIMEOUT, OTEL_BSP_SCHEDULE_DELAY (ms), YAML
 *   `batch_timeout`, 5s.
 * - insecure_skip_verify: BEYLA_OTEL_INSECURE_SKIP_VERIFY, YAML, false.
 */
export function resolveOtlp(
  signal: OtlpSignal,
  section: YamlObject,
  env: EnvReader,
  warnings: string[],
): OtlpExportConfig | undefined {
  const upper = signal.toUpperCase();
  const choice = chooseEndpoint(signal, section, env);
  // Read every field even when export is off, so a typo fails the same way either way.
  const explicitProtocol =
    env.enumOf(`OTEL_EXPORTER_OTLP_${upper}_PROTOCOL`, OTLP_PROTOCOLS) ??
    env.enumOf("OTEL_EXPORTER_OTLP_PROTOCOL", OTLP_PROTOCOLS) ??
    section.enumOf("protocol", OTLP_PROTOCOLS);
  const headers = {
    ...(section.stringMap("headers") ?? {}),
    ...envHeaders(env, "OTEL_EXPORTER_OTLP_HEADERS"),
    ...envHeaders(env, `OTEL_EXPORTER_OTLP_${upper}_HEADERS`),
  };
  const intervalMs = readInterval(signal, section, env);
  const insecureSkipVerify =
    env.bool("BEYLA_OTEL_INSECURE_SKIP_VERIFY") ?? section.bool("insecure_skip_verify") ?? false;
  if (choice === undefined) {
    if (section.keys().length > 0) {
      warnings.push(
        `config: field "${section.path}" has no endpoint (nor OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_${upper}_ENDPOINT); OTLP ${signal} export is off`,
      );
    }
    return undefined;
  }
  const url = parseHttpUrl(choice);
  const protocol = explicitProtocol ?? guessOtlpProtocol(url);
  const endpoint =
    choice.base && protocol !== "grpc" ? withSignalPath(url, signal) : choice.raw.trim();
  return { endpoint, protocol, headers, intervalMs, insecureSkipVerify };
}

function chooseEndpoint(
  signal: OtlpSignal,
  section: YamlObject,
  env: EnvReader,
): EndpointChoice | undefined {
  const signalVar = `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`;
  const fromSignal = env.string(signalVar);
  if (fromSignal !== undefined)
    return { raw: fromSignal, field: signalVar, source: "env", base: false };
  const fromCommon = env.string("OTEL_EXPORTER_OTLP_ENDPOINT");
  if (fromCommon !== undefined) {
    return { raw: fromCommon, field: "OTEL_EXPORTER_OTLP_ENDPOINT", source: "env", base: true };
  }
  const fromYaml = section.string("endpoint");
  if (fromYaml !== undefined && fromYaml.trim() !== "") {
    return { raw: fromYaml, field: section.fieldPath("endpoint"), source: "yaml", base: true };
  }
  return undefined;
}

function parseHttpUrl(choice: EndpointChoice): URL {
  let url: URL;
  try {
    url = new URL(choice.raw.trim());
  } catch (cause) {
    throw new ConfigError(choice.field, choice.raw, URL_ALLOWED, { source: choice.source, cause });
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    throw new ConfigError(choice.field, choice.raw, URL_ALLOWED, { source: choice.source });
  }
  return url;
}

/** The protocol of an endpoint given without one, like the reference agent: 4317 means gRPC. */
export function guessOtlpProtocol(url: URL): OtlpProtocol {
  return url.port.endsWith("4317") ? "grpc" : "http/protobuf";
}

function withSignalPath(url: URL, signal: OtlpSignal): string {
  const suffix = `/v1/${signal}`;
  const copy = new URL(url.href);
  const path = copy.pathname.replace(/\/+$/, "");
  if (!path.endsWith(suffix)) copy.pathname = path + suffix;
  return copy.href;
}

function readInterval(signal: OtlpSignal, section: YamlObject, env: EnvReader): number {
  if (signal === "metrics") {
    return (
      env.duration("BEYLA_METRICS_INTERVAL", 1) ??
      env.int("OTEL_METRIC_EXPORT_INTERVAL", 1, Number.MAX_SAFE_INTEGER) ??
      section.duration("interval", 1) ??
      DEFAULT_INTERVAL_MS.metrics
    );
  }
  return (
    env.duration("BEYLA_OTLP_TRACES_BATCH_TIMEOUT", 1) ??
    env.int("OTEL_BSP_SCHEDULE_DELAY", 1, Number.MAX_SAFE_INTEGER) ??
    section.duration("batch_timeout", 1) ??
    DEFAULT_INTERVAL_MS.traces
  );
}

function envHeaders(env: EnvReader, name: string): Record<string, string> {
  const text = env.string(name);
  return text === undefined ? {} : parseOtlpHeaders(text, name);
}
