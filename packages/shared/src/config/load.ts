import { ConfigError } from "./config-error.js";
import { EnvReader } from "./env-reader.js";
import type { Env } from "./expand-env.js";
import { OTLP_IGNORED_KEYS, OTLP_KEYS, resolveOtlp } from "./otlp.js";
import { parseControl } from "./parse-control.js";
import { parseKubernetes } from "./parse-kubernetes.js";
import {
  PROMETHEUS_IGNORED_KEYS,
  PROMETHEUS_KEYS,
  parsePrometheus,
  resolveMaxSeries,
  resolveMetricsTtl,
} from "./parse-metrics.js";
import { parseRoutes } from "./parse-routes.js";
import { parseSelectorList } from "./parse-selector.js";
import { parseYamlRoot } from "./parse-yaml.js";
import { PortRanges } from "./port-ranges.js";
import { Regex } from "./regex.js";
import type {
  AgentConfig,
  CaptureHooksChoice,
  DiscoveryConfig,
  LogLevel,
  ServiceSelector,
  TracePrinter,
} from "./types.js";
import type { YamlObject } from "./yaml-object.js";

export interface LoadAgentConfigOptions {
  /** The YAML file's content; absent or empty means environment variables and defaults only. */
  yamlText?: string;
  /** The file's path, only to name it in error messages. */
  yamlPath?: string;
  /** The process environment (the caller passes process.env; nothing else reads it). */
  env: Env;
}

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
export const TRACE_PRINTERS: readonly TracePrinter[] = ["disabled", "text", "json"];
const INTERNAL_EXPORTERS = ["disabled", "prometheus", "otel"] as const;
const CAPTURE_HOOKS: readonly CaptureHooksChoice[] = ["auto", "sockets", "syscalls"];
export const DEFAULT_POLL_INTERVAL_MS = 500;

const TOP_KEYS = [
  "open_port",
  "executable_name",
  "service_name",
  "service_namespace",
  "log_level",
  "trace_printer",
  "discovery",
  "routes",
  "attributes",
  "prometheus_export",
  "otel_metrics_export",
  "otel_traces_export",
  "internal_metrics",
  "metrics_max_series",
  "ebpf",
];
/** Reference-agent sections this agent does not implement: accepted with a warning. */
const TOP_IGNORED_KEYS = [
  "shutdown_timeout",
  "log_format",
  "enforce_sys_caps",
  "channel_buffer_len",
  "filter",
  "name_resolver",
  "network",
  "grafana",
  "health_check",
];
const DISCOVERY_KEYS = ["services", "exclude_services", "poll_interval"];
const DISCOVERY_IGNORED_KEYS = [
  "survey",
  "default_exclude_services",
  "skip_go_specific_tracers",
  "exclude_otel_instrumented_services",
];

/**
 * Builds the agent's configuration from the reference agent's YAML and environment variables.
 * Environment variables override YAML; `${VAR}` and `${VAR:-default}` in the YAML are expanded
 * first. Every problem throws a ConfigError naming the field or variable, the value and what is
 * allowed; every regex is compiled by RE2 here, so a bad one fails at start.
 */
export function loadAgentConfig(opts: LoadAgentConfigOptions): AgentConfig {
  try {
    return build(opts);
  } catch (err) {
    if (err instanceof ConfigError) throw err.withFile(opts.yamlPath);
    throw err;
  }
}

function build(opts: LoadAgentConfigOptions): AgentConfig {
  const env = new EnvReader(opts.env);
  const warnings: string[] = [];
  const root = parseYamlRoot(opts.yamlText ?? "", opts.env);
  root.checkKeys(TOP_KEYS, TOP_IGNORED_KEYS, warnings);

  const serviceName = nonEmpty(
    env.string("BEYLA_SERVICE_NAME") ??
      env.string("OTEL_SERVICE_NAME") ??
      root.string("service_name"),
  );
  const serviceNamespace = nonEmpty(
    env.string("BEYLA_SERVICE_NAMESPACE") ?? root.string("service_namespace"),
  );

  const prometheusSection = root.object("prometheus_export");
  prometheusSection.checkKeys(PROMETHEUS_KEYS, PROMETHEUS_IGNORED_KEYS, warnings);
  const metricsSection = root.object("otel_metrics_export");
  metricsSection.checkKeys(OTLP_KEYS.metrics, OTLP_IGNORED_KEYS.metrics, warnings);
  const tracesSection = root.object("otel_traces_export");
  tracesSection.checkKeys(OTLP_KEYS.traces, OTLP_IGNORED_KEYS.traces, warnings);

  const config: AgentConfig = {
    discovery: parseDiscovery(root, env, warnings, serviceName, serviceNamespace),
    routes: parseRoutes(root.object("routes")),
    kubernetes: parseKubernetes(root.object("attributes"), env, warnings),
    logLevel:
      env.enumOf("BEYLA_LOG_LEVEL", LOG_LEVELS) ?? root.enumOf("log_level", LOG_LEVELS) ?? "info",
    tracePrinter:
      env.enumOf("BEYLA_TRACE_PRINTER", TRACE_PRINTERS) ??
      root.enumOf("trace_printer", TRACE_PRINTERS) ??
      "disabled",
    metricsTtlMs: resolveMetricsTtl(prometheusSection, metricsSection, env, warnings),
    maxSeries: resolveMaxSeries(root, env),
    internalMetrics: parseInternalMetrics(root.object("internal_metrics"), env, warnings),
    captureHooks: parseCaptureHooks(root.object("ebpf"), env, warnings),
    warnings,
  };
  const control = parseControl(env);
  if (control !== undefined) config.control = control;
  if (serviceName !== undefined) config.serviceName = serviceName;
  if (serviceNamespace !== undefined) config.serviceNamespace = serviceNamespace;
  const prometheus = parsePrometheus(prometheusSection, env);
  if (prometheus !== undefined) config.prometheus = prometheus;
  const otelMetrics = resolveOtlp("metrics", metricsSection, env, warnings);
  if (otelMetrics !== undefined) config.otelMetrics = otelMetrics;
  const otelTraces = resolveOtlp("traces", tracesSection, env, warnings);
  if (otelTraces !== undefined) config.otelTraces = otelTraces;
  return config;
}

/**
 * `discovery`, plus the implicit selector of top-level `open_port` / `executable_name`
 * (BEYLA_OPEN_PORT / BEYLA_EXECUTABLE_NAME): both criteria ANDed in one selector, placed first
 * and ORed with `discovery.services`. It carries the top-level service name and namespace.
 */
function parseDiscovery(
  root: YamlObject,
  env: EnvReader,
  warnings: string[],
  serviceName: string | undefined,
  serviceNamespace: string | undefined,
): DiscoveryConfig {
  const section = root.object("discovery");
  section.checkKeys(DISCOVERY_KEYS, DISCOVERY_IGNORED_KEYS, warnings);
  const services: ServiceSelector[] = [];
  const implicit = implicitSelector(root, env);
  if (implicit !== undefined) {
    if (serviceName !== undefined) implicit.name = serviceName;
    if (serviceNamespace !== undefined) implicit.namespace = serviceNamespace;
    services.push(implicit);
  }
  services.push(...parseSelectorList(section, "services"));
  return {
    services,
    excludeServices: parseSelectorList(section, "exclude_services"),
    pollIntervalMs:
      env.duration("BEYLA_DISCOVERY_POLL_INTERVAL", 1) ??
      section.duration("poll_interval", 1) ??
      DEFAULT_POLL_INTERVAL_MS,
  };
}

function implicitSelector(root: YamlObject, env: EnvReader): ServiceSelector | undefined {
  const sel: ServiceSelector = {};
  const portsFromEnv = env.string("BEYLA_OPEN_PORT");
  if (portsFromEnv !== undefined) {
    sel.openPorts = PortRanges.parse(portsFromEnv, "BEYLA_OPEN_PORT", "env");
  } else if (root.has("open_port")) {
    sel.openPorts = PortRanges.parse(root.raw("open_port"), "open_port");
  }
  const exeFromEnv = env.string("BEYLA_EXECUTABLE_NAME");
  if (exeFromEnv !== undefined) {
    sel.exePath = Regex.compile(exeFromEnv, "BEYLA_EXECUTABLE_NAME", "env");
  } else {
    const exe = root.string("executable_name");
    if (exe !== undefined && exe !== "") sel.exePath = Regex.compile(exe, "executable_name");
  }
  return sel.openPorts === undefined && sel.exePath === undefined ? undefined : sel;
}

/** `internal_metrics.exporter` / BEYLA_INTERNAL_METRICS_EXPORTER: anything but disabled turns them on. */
function parseInternalMetrics(section: YamlObject, env: EnvReader, warnings: string[]): boolean {
  section.checkKeys(["exporter"], ["prometheus"], warnings);
  const exporter =
    env.enumOf("BEYLA_INTERNAL_METRICS_EXPORTER", INTERNAL_EXPORTERS) ??
    section.enumOf("exporter", INTERNAL_EXPORTERS) ??
    "disabled";
  return exporter !== "disabled";
}

/**
 * `ebpf.capture_hooks` / BEYLA_EBPF_CAPTURE_HOOKS, this agent's own key. The section's other
 * keys are the reference agent's tuning knobs (wakeup_len, track_request_headers, ...): each is
 * accepted with a warning.
 */
function parseCaptureHooks(
  section: YamlObject,
  env: EnvReader,
  warnings: string[],
): CaptureHooksChoice {
  const own = ["capture_hooks"];
  section.checkKeys(
    own,
    section.keys().filter((k) => !own.includes(k)),
    warnings,
  );
  return (
    env.enumOf("BEYLA_EBPF_CAPTURE_HOOKS", CAPTURE_HOOKS) ??
    section.enumOf("capture_hooks", CAPTURE_HOOKS) ??
    "auto"
  );
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === "" ? undefined : s;
}
