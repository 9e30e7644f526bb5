import type { PortRanges } from "./port-ranges.js";
import type { Regex } from "./regex.js";

/** The agent's whole configuration, after YAML, environment variables and defaults. */
export interface AgentConfig {
  discovery: DiscoveryConfig;
  /** Top-level `service_name`, BEYLA_SERVICE_NAME or OTEL_SERVICE_NAME. */
  serviceName?: string;
  /** Top-level `service_namespace` or BEYLA_SERVICE_NAMESPACE. */
  serviceNamespace?: string;
  routes: RoutesConfig;
  /** Present when a non-zero port is configured. */
  prometheus?: PrometheusConfig;
  /** Present when a metrics endpoint is configured. */
  otelMetrics?: OtlpExportConfig;
  /** Present when a traces endpoint is configured. */
  otelTraces?: OtlpExportConfig;
  kubernetes: KubernetesConfig;
  /** The control endpoint for the operator; absent when BEYLA_CONTROL_PORT is unset. */
  control?: ControlConfig;
  logLevel: LogLevel;
  tracePrinter: TracePrinter;
  /** A series not updated for this long is dropped. */
  metricsTtlMs: number;
  /** Cardinality limit: the most series one metric may hold. */
  maxSeries: number;
  internalMetrics: boolean;
  /**
   * `ebpf.capture_hooks` / BEYLA_EBPF_CAPTURE_HOOKS: the kernel hooks that see socket I/O.
   * "auto" takes the socket tracepoints where the kernel has them (Linux 6.3+), else the
   * syscall tracepoints.
   */
  captureHooks: CaptureHooksChoice;
  /**
   * Options of the reference agent that were recognised but are not implemented here, one
   * message each; the caller logs them at start.
   */
  warnings: string[];
}

export type CaptureHooksChoice = "auto" | "sockets" | "syscalls";
export type LogLevel = "debug" | "info" | "warn" | "error";
export type TracePrinter = "disabled" | "text" | "json";

export interface DiscoveryConfig {
  /**
   * Selectors, ORed, tried in order: the first that matches a process names it. The implicit
   * selector built from top-level `open_port` / `executable_name` comes first.
   */
  services: ServiceSelector[];
  /** A process matching any of these is not instrumented, whatever `services` says. */
  excludeServices: ServiceSelector[];
  pollIntervalMs: number;
}

/**
 * One `discovery.services` entry. Criteria present are ANDed; at least one criterion is
 * required. `name` and `namespace` are what a match is called, not criteria.
 */
export interface ServiceSelector {
  name?: string;
  namespace?: string;
  openPorts?: PortRanges;
  exePath?: Regex;
  k8sNamespace?: Regex;
  k8sPodName?: Regex;
  k8sDeploymentName?: Regex;
  k8sReplicaSetName?: Regex;
  k8sStatefulSetName?: Regex;
  k8sDaemonSetName?: Regex;
  /** Matches the name of any owner of the pod (Deployment, ReplicaSet, StatefulSet, DaemonSet...). */
  k8sOwnerName?: Regex;
  /** Label name -> regex on its value; the label must exist. */
  k8sPodLabels?: Readonly<Record<string, Regex>>;
  k8sPodAnnotations?: Readonly<Record<string, Regex>>;
}

export interface RoutesConfig {
  patterns: string[];
  ignoredPatterns: string[];
  ignoreMode: IgnoreMode;
  unmatched: UnmatchedMode;
  /** What the heuristic puts in place of an id-like segment (YAML `wildcard_char`); default "*". */
  wildcardChar?: string;
}

export type IgnoreMode = "all" | "traces" | "metrics";
export type UnmatchedMode = "heuristic" | "path" | "wildcard" | "unset";

export interface PrometheusConfig {
  port: number;
  path: string;
}

export type OtlpProtocol = "http/protobuf" | "http/json" | "grpc";

export interface OtlpExportConfig {
  /** Full URL of the signal, e.g. http://host:4318/v1/metrics (for grpc: scheme, host, port). */
  endpoint: string;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
  /** Metrics: export interval. Traces: the longest a span waits in a batch. */
  intervalMs: number;
  insecureSkipVerify: boolean;
}

export interface KubernetesConfig {
  /** `autodetect` turns decoration on when an API server connection works. */
  enable: boolean | "autodetect";
  clusterName?: string;
}

/** The agent's control endpoint (docs/control-protocol.md), from BEYLA_CONTROL_* variables. */
export interface ControlConfig {
  /** 0 picks a free port. */
  port: number;
  /** The only caller accepted: system:serviceaccount:<namespace>:<name>. */
  operatorUsername: string;
  /** Audience the operator's tokens must carry. Default "beyla-control". */
  audience: string;
  /** The agent's own projected token, for the pull at start. */
  tokenFile?: string;
  /** The operator's GET /v1/selectors, pulled once at start. */
  operatorUrl?: string;
  caFile?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  insecureSkipVerify: boolean;
}
