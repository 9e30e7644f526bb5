import type {
  KubernetesConfig,
  OtlpProtocol,
  PrometheusConfig,
  RoutesConfig,
  ServiceSelector,
} from "../config/types.js";

/** Where a BeylaInstrumentation lives; decides its scope and names it in error messages. */
export interface InstrumentationRef {
  namespace: string;
  name: string;
  /**
   * True for a resource in the operator's namespace: it may select in every namespace.
   * Otherwise (the default) every selector is confined to `namespace`.
   */
  clusterWide?: boolean;
}

/** A BeylaInstrumentation spec after validation, in the shared config model. */
export interface InstrumentationSpec {
  /** `spec.discovery.services`, ORed; confined to the resource's namespace unless cluster-wide. */
  services: ServiceSelector[];
  /** `spec.discovery.excludeServices`, confined like `services`. */
  excludeServices: ServiceSelector[];
  /** `spec.routes`, when present. */
  routes?: RoutesConfig;
  /** `spec.attributes.kubernetes`, when present. */
  kubernetes?: KubernetesConfig;
  /** `spec.metrics`, when present. */
  metrics?: MetricsSpec;
  /** `spec.export`, when present. */
  export?: ExportSpec;
}

export type MetricsFeature =
  | "application"
  | "application_span"
  | "application_service_graph"
  | "application_process"
  | "network";

export type Instrumentation = "*" | "http" | "grpc" | "sql" | "redis" | "kafka";

export interface MetricsSpec {
  /** Default ["application"]. */
  features: MetricsFeature[];
  /** Default ["*"]; a list holding "*" is reduced to ["*"]. */
  instrumentations: Instrumentation[];
  /** `metrics.network.enabled`, default false. */
  networkEnabled: boolean;
}

export interface ExportSpec {
  otlp?: OtlpExportSpec;
  prometheus?: PrometheusConfig;
}

export interface OtlpExportSpec {
  /** Base URL, http:// or https:// (the agent appends /v1/<signal> for HTTP protocols). */
  endpoint: string;
  /** Absent: guessed from the port like the agent's YAML (4317 -> grpc). */
  protocol?: OtlpProtocol;
  /**
   * A Secret key in the resource's namespace holding OTEL_EXPORTER_OTLP_HEADERS-style text
   * (`k=v,k2=v2`); only the reference is validated here. The operator reads the Secret and
   * sends the headers beside the spec (`export.otlp.headers` of the selector set's resource).
   */
  headersFrom?: SecretKeyRef;
}

export interface SecretKeyRef {
  name: string;
  /** Default "headers". */
  key: string;
}
