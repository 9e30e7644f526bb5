/**
 * One finished request, as the capture pipeline hands it to the exporters.
 * Produced from a kernel record (decoded, parsed, decorated, routed).
 */
export type SpanKind = "server" | "client";

/** The process (and later, Kubernetes) identity a span is attributed to. */
export interface ServiceIdentity {
  /** service.name: config, OTEL_SERVICE_NAME of the process, else executable name. */
  name: string;
  /** service.namespace, empty when unknown. */
  namespace: string;
  /** service.instance.id: unique per process, e.g. "<hostname>-<pid>". */
  instanceId: string;
  pid: number;
  /** Full path of the executable, e.g. /usr/sbin/nginx. */
  exePath: string;
  /** Extra resource attributes (host.name, k8s.* later), OTel semconv keys. */
  attributes: Record<string, string>;
}

export interface RequestSpan {
  kind: SpanKind;
  /** HTTP method as sent, e.g. "GET". */
  method: string;
  /** URL path without the query string. */
  path: string;
  /** Low-cardinality route (http.route); undefined when routes.unmatched is "unset". */
  route: string | undefined;
  /** HTTP status code; 0 when no response was seen. */
  statusCode: number;
  /** Wall-clock times in nanoseconds since the Unix epoch. */
  startUnixNano: bigint;
  endUnixNano: bigint;
  /** Bytes of the request and response bodies (headers excluded); -1 when unknown. */
  requestBodySize: number;
  responseBodySize: number;
  /** Local and peer end of the connection. */
  localAddress: string;
  localPort: number;
  peerAddress: string;
  peerPort: number;
  /** server.address/server.port: for server spans the local end, for client spans the peer. */
  serverAddress: string;
  serverPort: number;
  /** Value of the Host header (client spans) when captured, else "". */
  host: string;
  service: ServiceIdentity;
  /** Set by routes.ignored_patterns: which signals must not see this span. */
  ignore: "none" | "metrics" | "traces";
}
