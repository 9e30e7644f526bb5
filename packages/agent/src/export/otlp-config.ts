/**
 * What the OTLP exporters share: endpoint options, protocol checks and exporters wrapped
 * so that every failed export is counted and none is thrown into the pipeline.
 */
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import { OTLPMetricExporter as JsonMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as ProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import type { PushMetricExporter, ResourceMetrics } from "@opentelemetry/sdk-metrics";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";

export type OtlpProtocol = "http/protobuf" | "http/json" | "grpc";

export interface OtlpEndpointOptions {
  /**
   * Base URL of the receiver, e.g. "http://localhost:4318" (OTEL_EXPORTER_OTLP_ENDPOINT);
   * "/v1/metrics" or "/v1/traces" is appended.
   */
  endpoint: string;
  /**
   * Full URL of the signal (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT / _TRACES_ENDPOINT), used
   * as is; wins over `endpoint`.
   */
  signalEndpoint?: string;
  protocol: OtlpProtocol;
  /** Sent with every request (OTEL_EXPORTER_OTLP_HEADERS, already parsed). */
  headers: Record<string, string>;
  /** Timeout of one export request. Default 10 s. */
  timeoutMs?: number;
  /** Config block named in error messages, e.g. "otel_metrics_export". */
  configField?: string;
}

export type OtlpSignal = "metrics" | "traces";

/** The URL the exporter posts to; throws naming the field when it is not an http(s) URL. */
export function signalUrl(options: OtlpEndpointOptions, signal: OtlpSignal): string {
  const field = options.configField ?? `otel_${signal}_export`;
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
  if (explicit) return url.toString();
  return `${raw.replace(/\/+$/, "")}/v1/${signal}`;
}

/** Throws, naming the field, unless the protocol is one this build can export with. */
export function checkProtocol(
  options: OtlpEndpointOptions,
  signal: OtlpSignal,
): "http/protobuf" | "http/json" {
  const field = options.configField ?? `otel_${signal}_export`;
  const protocol: string = options.protocol;
  if (protocol === "http/protobuf" || protocol === "http/json") return protocol;
  if (protocol === "grpc") {
    throw new Error(
      `${field}.protocol: "grpc" is not supported yet (the OTLP gRPC exporter is not ` +
        `installed); use "http/protobuf" (port 4318) or "http/json"`,
    );
  }
  throw new Error(
    `${field}.protocol: "${protocol}" is not a valid protocol; ` +
      `allowed: "http/protobuf", "http/json", "grpc"`,
  );
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
  };
}

/** An OTLP metric exporter for the configured protocol; failures go to `onFailure`. */
export function createMetricExporter(
  options: OtlpEndpointOptions,
  onFailure: FailureReporter,
): PushMetricExporter {
  const config = exporterConfig(options, "metrics");
  const inner =
    checkProtocol(options, "metrics") === "http/json"
      ? new JsonMetricExporter(config)
      : new ProtoMetricExporter(config);
  return new ReportingMetricExporter(inner, onFailure);
}

/** An OTLP span exporter for the configured protocol; failures go to `onFailure`. */
export function createSpanExporter(
  options: OtlpEndpointOptions,
  onFailure: FailureReporter,
): SpanExporter {
  const config = exporterConfig(options, "traces");
  const inner =
    checkProtocol(options, "traces") === "http/json"
      ? new JsonTraceExporter(config)
      : new ProtoTraceExporter(config);
  return new ReportingSpanExporter(inner, onFailure);
}
