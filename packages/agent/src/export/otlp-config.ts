/**
 * What the OTLP exporters share: endpoint options, protocol checks and exporters wrapped
 * so that every failed export is counted and none is thrown into the pipeline.
 *
 * The gRPC exporters and @grpc/grpc-js are loaded only for `protocol: grpc`, on first use
 * (the sinks' constructors check the protocol, so that is while the agent starts): they
 * add several MB to the RSS, which an agent exporting over HTTP must not pay.
 */
import { createRequire } from "node:module";
import type { credentials, Metadata } from "@grpc/grpc-js";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import type { OTLPMetricExporter as GrpcMetricExporter } from "@opentelemetry/exporter-metrics-otlp-grpc";
import { OTLPMetricExporter as JsonMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as ProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import type { OTLPTraceExporter as GrpcTraceExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import type { PushMetricExporter, ResourceMetrics } from "@opentelemetry/sdk-metrics";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";

export type OtlpProtocol = "http/protobuf" | "http/json" | "grpc";

export interface OtlpEndpointOptions {
  /**
   * Base URL of the receiver, e.g. "http://localhost:4318" (OTEL_EXPORTER_OTLP_ENDPOINT);
   * "/v1/metrics" or "/v1/traces" is appended. With grpc, "http://localhost:4317": only the
   * scheme (http: plaintext, https: TLS), host and port count.
   */
  endpoint: string;
  /**
   * Full URL of the signal (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT / _TRACES_ENDPOINT), used
   * as is (with grpc: its scheme, host and port); wins over `endpoint`.
   */
  signalEndpoint?: string;
  protocol: OtlpProtocol;
  /**
   * Sent with every request (OTEL_EXPORTER_OTLP_HEADERS, already parsed); with grpc as
   * gRPC metadata (keys lowercased; a key ending in "-bin" sends the value's UTF-8 bytes).
   */
  headers: Record<string, string>;
  /** Timeout of one export request. Default 10 s. */
  timeoutMs?: number;
  /** Config block named in error messages, e.g. "otel_metrics_export". */
  configField?: string;
  /** https:// only: accept any server certificate (`insecure_skip_verify`). Default false. */
  insecureSkipVerify?: boolean;
}

export type OtlpSignal = "metrics" | "traces";

/** The config block named in error messages. */
function fieldOf(options: OtlpEndpointOptions, signal: OtlpSignal): string {
  return options.configField ?? `otel_${signal}_export`;
}

/**
 * The URL the exporter sends to; throws naming the field when it is not an http(s) URL.
 * HTTP protocols: the signal's URL (a base `endpoint` gets "/v1/<signal>"). grpc:
 * "scheme://host:port", without a path (gRPC has none; the method names the signal).
 */
export function signalUrl(options: OtlpEndpointOptions, signal: OtlpSignal): string {
  const field = fieldOf(options, signal);
  const explicit = options.signalEndpoint !== undefined && options.signalEndpoint !== "";
  const raw = explicit ? (options.signalEndpoint as string) : options.endpoint;
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new Error(`${field}.endpoint: "${raw}" is not a valid URL`, { cause });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`${field}.endpoint: "${raw}" must be an http:// or https:// URL`);
  }
  if (options.protocol === "grpc") return `${url.protocol}//${url.host}`;
  if (explicit) return url.toString();
  return `${raw.replace(/\/+$/, "")}/v1/${signal}`;
}

/**
 * Throws, naming the field, unless the protocol is one this build can export with. For
 * grpc it also loads the gRPC exporter of the signal (once) and checks that every header
 * can be sent as gRPC metadata, so that neither fails only at the first export.
 */
export function checkProtocol(options: OtlpEndpointOptions, signal: OtlpSignal): OtlpProtocol {
  const field = fieldOf(options, signal);
  const protocol: string = options.protocol;
  if (protocol === "http/protobuf" || protocol === "http/json") return protocol;
  if (protocol === "grpc") {
    grpcMetadata(options.headers, loadGrpc(signal, field).Metadata, field);
    return protocol;
  }
  throw new Error(
    `${field}.protocol: "${protocol}" is not a valid protocol; ` +
      `allowed: "http/protobuf", "http/json", "grpc"`,
  );
}

interface GrpcModules {
  Metadata: typeof Metadata;
  credentials: typeof credentials;
  MetricExporter?: typeof GrpcMetricExporter;
  TraceExporter?: typeof GrpcTraceExporter;
}

type LoadedGrpc<S extends OtlpSignal> = GrpcModules &
  Required<Pick<GrpcModules, S extends "metrics" ? "MetricExporter" : "TraceExporter">>;

/** The OTLP gRPC packages are CommonJS: required synchronously, only when grpc is chosen. */
const requireLazily = createRequire(import.meta.url);
let grpcModules: GrpcModules | undefined;

/** @grpc/grpc-js and the OTLP gRPC exporter of `signal`, loaded on the first call. */
function loadGrpc<S extends OtlpSignal>(signal: S, field: string): LoadedGrpc<S> {
  try {
    if (grpcModules === undefined) {
      const grpcJs = requireLazily("@grpc/grpc-js") as Pick<
        GrpcModules,
        "Metadata" | "credentials"
      >;
      grpcModules = { Metadata: grpcJs.Metadata, credentials: grpcJs.credentials };
    }
    if (signal === "metrics") {
      grpcModules.MetricExporter ??= (
        requireLazily("@opentelemetry/exporter-metrics-otlp-grpc") as {
          OTLPMetricExporter: typeof GrpcMetricExporter;
        }
      ).OTLPMetricExporter;
    } else {
      grpcModules.TraceExporter ??= (
        requireLazily("@opentelemetry/exporter-trace-otlp-grpc") as {
          OTLPTraceExporter: typeof GrpcTraceExporter;
        }
      ).OTLPTraceExporter;
    }
  } catch (cause) {
    throw new Error(`${field}.protocol: "grpc": the OTLP gRPC exporter cannot be loaded`, {
      cause,
    });
  }
  return grpcModules as LoadedGrpc<S>;
}

/** What gRPC accepts as a metadata key (after lowercasing) and as a text value. */
const GRPC_KEY = /^[0-9a-z_.-]+$/;
const GRPC_TEXT_VALUE = /^[\x20-\x7e]*$/;

/**
 * The headers as gRPC metadata; throws, naming the field and the key (never the value: it
 * is often a credential), on one gRPC cannot carry.
 */
function grpcMetadata(
  headers: Record<string, string>,
  MetadataClass: typeof Metadata,
  field: string,
): Metadata {
  const metadata = new MetadataClass();
  for (const [key, value] of Object.entries(headers)) {
    const name = key.toLowerCase();
    if (!GRPC_KEY.test(name)) {
      throw new Error(
        `${field}.headers: "${key}" is not a valid gRPC metadata key; ` +
          `allowed: letters (sent lowercased), digits, "-", "_", "."`,
      );
    }
    const binary = name.endsWith("-bin");
    if (!binary && !GRPC_TEXT_VALUE.test(value)) {
      throw new Error(
        `${field}.headers: the value of "${key}" is not valid gRPC metadata; ` +
          `allowed: printable ASCII (any text in a key ending in "-bin")`,
      );
    }
    metadata.set(name, binary ? Buffer.from(value, "utf8") : value);
  }
  return metadata;
}

type FailureReporter = (error: Error | undefined) => void;

function toError(cause: unknown): Error {
  return cause instanceof Error ? cause : new Error(String(cause));
}

/** A push exporter that reports failed exports and never throws. */
class ReportingMetricExporter implements PushMetricExporter {
  readonly selectAggregationTemporality: PushMetricExporter["selectAggregationTemporality"];
  readonly selectAggregation: PushMetricExporter["selectAggregation"];

  constructor(
    private readonly inner: PushMetricExporter,
    private readonly onFailure: FailureReporter,
  ) {
    this.selectAggregationTemporality = inner.selectAggregationTemporality?.bind(inner);
    this.selectAggregation = inner.selectAggregation?.bind(inner);
  }

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    reportingExport(this.onFailure, done, (cb) => this.inner.export(metrics, cb));
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/** A span exporter that reports failed exports and never throws. */
class ReportingSpanExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly onFailure: FailureReporter,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    reportingExport(this.onFailure, done, (cb) => this.inner.export(spans, cb));
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

function reportingExport(
  onFailure: FailureReporter,
  done: (result: ExportResult) => void,
  run: (cb: (result: ExportResult) => void) => void,
): void {
  try {
    run((result) => {
      if (result.code !== ExportResultCode.SUCCESS) onFailure(result.error);
      done(result);
    });
  } catch (cause) {
    const error = toError(cause);
    onFailure(error);
    done({ code: ExportResultCode.FAILED, error });
  }
}

function exporterConfig(options: OtlpEndpointOptions, signal: OtlpSignal) {
  return {
    url: signalUrl(options, signal),
    headers: { ...options.headers },
    timeoutMillis: options.timeoutMs ?? 10_000,
    ...(options.insecureSkipVerify === true
      ? { httpAgentOptions: { keepAlive: true, rejectUnauthorized: false } }
      : {}),
  };
}

function grpcExporterConfig(options: OtlpEndpointOptions, signal: OtlpSignal, grpc: GrpcModules) {
  return {
    url: signalUrl(options, signal),
    metadata: grpcMetadata(options.headers, grpc.Metadata, fieldOf(options, signal)),
    timeoutMillis: options.timeoutMs ?? 10_000,
    ...(options.insecureSkipVerify === true && signalUrl(options, signal).startsWith("https:")
      ? {
          credentials: grpc.credentials.createSsl(null, null, null, {
            rejectUnauthorized: false,
            checkServerIdentity: () => undefined,
          }),
        }
      : {}),
  };
}

/** An OTLP metric exporter for the configured protocol; failures go to `onFailure`. */
export function createMetricExporter(
  options: OtlpEndpointOptions,
  onFailure: FailureReporter,
): PushMetricExporter {
  const protocol = checkProtocol(options, "metrics");
  let inner: PushMetricExporter;
  if (protocol === "grpc") {
    const grpc = loadGrpc("metrics", fieldOf(options, "metrics"));
    inner = new grpc.MetricExporter(grpcExporterConfig(options, "metrics", grpc));
  } else {
    const config = exporterConfig(options, "metrics");
    inner =
      protocol === "http/json" ? new JsonMetricExporter(config) : new ProtoMetricExporter(config);
  }
  return new ReportingMetricExporter(inner, onFailure);
}

/** An OTLP span exporter for the configured protocol; failures go to `onFailure`. */
export function createSpanExporter(
  options: OtlpEndpointOptions,
  onFailure: FailureReporter,
): SpanExporter {
  const protocol = checkProtocol(options, "traces");
  let inner: SpanExporter;
  if (protocol === "grpc") {
    const grpc = loadGrpc("traces", fieldOf(options, "traces"));
    inner = new grpc.TraceExporter(grpcExporterConfig(options, "traces", grpc));
  } else {
    const config = exporterConfig(options, "traces");
    inner =
      protocol === "http/json" ? new JsonTraceExporter(config) : new ProtoTraceExporter(config);
  }
  return new ReportingSpanExporter(inner, onFailure);
}
