/**
 * Metric names, attribute keys and bucket boundaries of the application metrics.
 *
 * OpenTelemetry names follow the HTTP semantic conventions; Prometheus names are derived
 * from them by the usual rules (dots to underscores, unit suffix: `_seconds`, `_bytes`).
 */

/** One application histogram, under both its OpenTelemetry and Prometheus names. */
export interface HistogramName {
  readonly otel: string;
  readonly prom: string;
  readonly unit: "s" | "By";
  readonly help: string;
}

export const HTTP_SERVER_DURATION: HistogramName = {
  otel: "http.server.request.duration",
  prom: "http_server_request_duration_seconds",
  unit: "s",
  help: "duration of HTTP service calls from the server side, in seconds",
};

export const HTTP_CLIENT_DURATION: HistogramName = {
  otel: "http.client.request.duration",
  prom: "http_client_request_duration_seconds",
  unit: "s",
  help: "duration of HTTP service calls from the client side, in seconds",
};

export const HTTP_SERVER_REQUEST_BODY_SIZE: HistogramName = {
  otel: "http.server.request.body.size",
  prom: "http_server_request_body_size_bytes",
  unit: "By",
  help: "size, in bytes, of the HTTP request body as received at the server side",
};

export const HTTP_CLIENT_REQUEST_BODY_SIZE: HistogramName = {
  otel: "http.client.request.body.size",
  prom: "http_client_request_body_size_bytes",
  unit: "By",
  help: "size, in bytes, of the HTTP request body as sent from the client side",
};

export const HTTP_SERVER_RESPONSE_BODY_SIZE: HistogramName = {
  otel: "http.server.response.body.size",
  prom: "http_server_response_body_size_bytes",
  unit: "By",
  help: "size, in bytes, of the HTTP response body as sent from the server side",
};

export const HTTP_CLIENT_RESPONSE_BODY_SIZE: HistogramName = {
  otel: "http.client.response.body.size",
  prom: "http_client_response_body_size_bytes",
  unit: "By",
  help: "size, in bytes, of the HTTP response body as received at the client side",
};

/** The three histograms one span kind feeds. */
export interface KindHistograms {
  readonly duration: HistogramName;
  readonly requestBodySize: HistogramName;
  readonly responseBodySize: HistogramName;
}

export const SERVER_HISTOGRAMS: KindHistograms = {
  duration: HTTP_SERVER_DURATION,
  requestBodySize: HTTP_SERVER_REQUEST_BODY_SIZE,
  responseBodySize: HTTP_SERVER_RESPONSE_BODY_SIZE,
};

export const CLIENT_HISTOGRAMS: KindHistograms = {
  duration: HTTP_CLIENT_DURATION,
  requestBodySize: HTTP_CLIENT_REQUEST_BODY_SIZE,
  responseBodySize: HTTP_CLIENT_RESPONSE_BODY_SIZE,
};

export const TARGET_INFO = "target_info";
export const TARGET_INFO_HELP = "attributes associated to a given monitored entity";

/** Duration bucket upper bounds, in seconds (DESIGN §6). */
export const DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/** Body size bucket upper bounds, in bytes (DESIGN §6). */
export const SIZE_BUCKETS_BYTES: readonly number[] = Object.freeze([
  0, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192,
]);

/** OpenTelemetry attribute keys of the application metrics and spans. */
export const ATTR = {
  httpRequestMethod: "http.request.method",
  httpRequestMethodOriginal: "http.request.method_original",
  httpResponseStatusCode: "http.response.status_code",
  httpRoute: "http.route",
  urlScheme: "url.scheme",
  urlPath: "url.path",
  serverAddress: "server.address",
  serverPort: "server.port",
  clientAddress: "client.address",
  networkPeerAddress: "network.peer.address",
  networkPeerPort: "network.peer.port",
  httpRequestBodySize: "http.request.body.size",
  httpResponseBodySize: "http.response.body.size",
} as const;

/** OpenTelemetry resource attribute keys. */
export const RESOURCE = {
  serviceName: "service.name",
  serviceNamespace: "service.namespace",
  serviceInstanceId: "service.instance.id",
  processPid: "process.pid",
  processExecutablePath: "process.executable.path",
  hostName: "host.name",
  osType: "os.type",
  telemetrySdkName: "telemetry.sdk.name",
  telemetrySdkLanguage: "telemetry.sdk.language",
  telemetrySdkVersion: "telemetry.sdk.version",
} as const;

/** Prometheus labels of the application histograms, in exposition order. */
export const PROM_LABEL = {
  httpRequestMethod: "http_request_method",
  httpResponseStatusCode: "http_response_status_code",
  httpRoute: "http_route",
  urlScheme: "url_scheme",
  serverAddress: "server_address",
  serverPort: "server_port",
  serviceName: "service_name",
  serviceNamespace: "service_namespace",
  serviceInstanceId: "service_instance_id",
} as const;

/**
 * Kubernetes resource attributes that become Prometheus labels when the service carries
 * them (DESIGN §6). The label name is the attribute key with dots replaced by underscores.
 */
export const K8S_RESOURCE_ATTRIBUTES: readonly string[] = Object.freeze([
  "k8s.namespace.name",
  "k8s.pod.name",
  "k8s.container.name",
  "k8s.deployment.name",
  "k8s.replicaset.name",
  "k8s.statefulset.name",
  "k8s.daemonset.name",
  "k8s.owner.name",
  "k8s.node.name",
  "k8s.cluster.name",
  "k8s.pod.uid",
  "k8s.pod.start_time",
]);

/** Prometheus label name for an OpenTelemetry attribute key: `k8s.pod.name` → `k8s_pod_name`. */
export function promLabelName(attributeKey: string): string {
  return attributeKey.replace(/[^a-zA-Z0-9_]/g, "_");
}

/** What the agent reports as telemetry.sdk.* on every resource. */
export const TELEMETRY_SDK_NAME = "beyla";
export const TELEMETRY_SDK_VERSION = "0.1.0";
/** Used when the service identity does not say which language the process is written in. */
export const UNKNOWN_SDK_LANGUAGE = "unknown";
