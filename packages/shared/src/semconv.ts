/**
 * Metric and attribute names, in OpenTelemetry semantic-convention form (dotted) and in the
 * Prometheus form derived by the usual rules (dots to underscores, unit suffix `_seconds` /
 * `_bytes`). Exporters take names from here so that Prometheus and OTLP never drift apart.
 */

export interface MetricName {
  /** OpenTelemetry instrument name, e.g. http.server.request.duration. */
  readonly otel: string;
  /** Prometheus family name, e.g. http_server_request_duration_seconds. */
  readonly prometheus: string;
  /** UCUM unit as OpenTelemetry records it. */
  readonly unit: "s" | "By" | "1";
}

export interface AttributeName {
  readonly otel: string;
  readonly prometheus: string;
}

export const METRICS = {
  httpServerRequestDuration: {
    otel: "http.server.request.duration",
    prometheus: "http_server_request_duration_seconds",
    unit: "s",
  },
  httpClientRequestDuration: {
    otel: "http.client.request.duration",
    prometheus: "http_client_request_duration_seconds",
    unit: "s",
  },
  httpServerRequestBodySize: {
    otel: "http.server.request.body.size",
    prometheus: "http_server_request_body_size_bytes",
    unit: "By",
  },
  httpClientRequestBodySize: {
    otel: "http.client.request.body.size",
    prometheus: "http_client_request_body_size_bytes",
    unit: "By",
  },
  rpcServerDuration: {
    otel: "rpc.server.duration",
    prometheus: "rpc_server_duration_seconds",
    unit: "s",
  },
  rpcClientDuration: {
    otel: "rpc.client.duration",
    prometheus: "rpc_client_duration_seconds",
    unit: "s",
  },
  dbClientOperationDuration: {
    otel: "db.client.operation.duration",
    prometheus: "db_client_operation_duration_seconds",
    unit: "s",
  },
  messagingPublishDuration: {
    otel: "messaging.publish.duration",
    prometheus: "messaging_publish_duration_seconds",
    unit: "s",
  },
  messagingProcessDuration: {
    otel: "messaging.process.duration",
    prometheus: "messaging_process_duration_seconds",
    unit: "s",
  },
  /** Prometheus' one series per resource; in OTLP the resource itself plays this role. */
  targetInfo: { otel: "target_info", prometheus: "target_info", unit: "1" },
} as const satisfies Record<string, MetricName>;

export const ATTRIBUTES = {
  httpRequestMethod: { otel: "http.request.method", prometheus: "http_request_method" },
  httpResponseStatusCode: {
    otel: "http.response.status_code",
    prometheus: "http_response_status_code",
  },
  httpRoute: { otel: "http.route", prometheus: "http_route" },
  urlScheme: { otel: "url.scheme", prometheus: "url_scheme" },
  urlPath: { otel: "url.path", prometheus: "url_path" },
  serverAddress: { otel: "server.address", prometheus: "server_address" },
  serverPort: { otel: "server.port", prometheus: "server_port" },
  clientAddress: { otel: "client.address", prometheus: "client_address" },
  serviceName: { otel: "service.name", prometheus: "service_name" },
  serviceNamespace: { otel: "service.namespace", prometheus: "service_namespace" },
  serviceInstanceId: { otel: "service.instance.id", prometheus: "service_instance_id" },
  rpcSystem: { otel: "rpc.system", prometheus: "rpc_system" },
  rpcMethod: { otel: "rpc.method", prometheus: "rpc_method" },
  rpcGrpcStatusCode: { otel: "rpc.grpc.status_code", prometheus: "rpc_grpc_status_code" },
  dbSystemName: { otel: "db.system.name", prometheus: "db_system_name" },
  dbOperationName: { otel: "db.operation.name", prometheus: "db_operation_name" },
  messagingSystem: { otel: "messaging.system", prometheus: "messaging_system" },
  messagingDestinationName: {
    otel: "messaging.destination.name",
    prometheus: "messaging_destination_name",
  },
  k8sNamespaceName: { otel: "k8s.namespace.name", prometheus: "k8s_namespace_name" },
  k8sPodName: { otel: "k8s.pod.name", prometheus: "k8s_pod_name" },
  k8sContainerName: { otel: "k8s.container.name", prometheus: "k8s_container_name" },
  k8sDeploymentName: { otel: "k8s.deployment.name", prometheus: "k8s_deployment_name" },
  k8sReplicaSetName: { otel: "k8s.replicaset.name", prometheus: "k8s_replicaset_name" },
  k8sStatefulSetName: { otel: "k8s.statefulset.name", prometheus: "k8s_statefulset_name" },
  k8sDaemonSetName: { otel: "k8s.daemonset.name", prometheus: "k8s_daemonset_name" },
  k8sOwnerName: { otel: "k8s.owner.name", prometheus: "k8s_owner_name" },
  k8sNodeName: { otel: "k8s.node.name", prometheus: "k8s_node_name" },
  k8sClusterName: { otel: "k8s.cluster.name", prometheus: "k8s_cluster_name" },
  k8sPodUid: { otel: "k8s.pod.uid", prometheus: "k8s_pod_uid" },
  k8sPodStartTime: { otel: "k8s.pod.start_time", prometheus: "k8s_pod_start_time" },
} as const satisfies Record<string, AttributeName>;

/** Histogram bucket boundaries for durations, in seconds (DESIGN §6). */
export const DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/** Histogram bucket boundaries for body sizes, in bytes (DESIGN §6). */
export const SIZE_BUCKETS_BYTES: readonly number[] = Object.freeze([
  0, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192,
]);

/** The Prometheus label name for an OpenTelemetry attribute name: `k8s.pod.name` -> `k8s_pod_name`. */
export function prometheusLabelName(otelName: string): string {
  let out = "";
  for (let i = 0; i < otelName.length; i++) {
    const c = otelName.charCodeAt(i);
    const ok =
      (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57 && i > 0) || c === 95;
    out += ok ? otelName[i] : "_";
  }
  return out;
}
