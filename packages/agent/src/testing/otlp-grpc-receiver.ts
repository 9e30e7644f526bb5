/**
 * A real, tiny OTLP/gRPC receiver for tests: a @grpc/grpc-js server on 127.0.0.1 (random
 * port, plaintext) serving opentelemetry.proto.collector.trace.v1.TraceService/Export and
 * metrics.v1.MetricsService/Export. Messages are taken as raw bytes (identity
 * (de)serializers, no .proto files) and decoded by otlp-proto-decode.ts; the metadata of
 * every call is recorded as its headers.
 */
import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { decodeMetricsRequestProto, decodeTraceRequestProto } from "./otlp-proto-decode.js";
import { OtlpReceived } from "./otlp-received.js";

export type {
  AttrValue,
  Attrs,
  ReceivedDataPoint,
  ReceivedMetric,
  ReceivedRequest,
  ReceivedSpan,
} from "./otlp-types.js";

export const TRACE_EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
export const METRICS_EXPORT_PATH =
  "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

const identity = (bytes: Buffer): Buffer => bytes;

function exportService(path: string): ServiceDefinition {
  return {
    Export: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
}

export class OtlpGrpcReceiver extends OtlpReceived {
  readonly #server: Server;
  readonly #port: number;
  #failures: { count: number; code: status } = { count: 0, code: status.UNAVAILABLE };
  #closed = false;

  private constructor(
    server: Server,
    port: number,
    private readonly tls: boolean,
  ) {
    super();
    this.#server = server;
    this.#port = port;
  }

  /** Starts a receiver on 127.0.0.1 and a random port. */
  static async start(
    options: { tls?: { cert: string; key: string } } = {},
  ): Promise<OtlpGrpcReceiver> {
    const server = new Server({
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    });
    const { tls } = options;
    const credentials = tls
      ? ServerCredentials.createSsl(
          null,
          [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }],
          false,
        )
      : ServerCredentials.createInsecure();
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync("127.0.0.1:0", credentials, (error, bound) =>
        error ? reject(error) : resolve(bound),
      );
    });
    const receiver = new OtlpGrpcReceiver(server, port, tls !== undefined);
    for (const path of [TRACE_EXPORT_PATH, METRICS_EXPORT_PATH]) {
      server.addService(exportService(path), {
        Export: (call: ServerUnaryCall<Buffer, Buffer>, done: sendUnaryData<Buffer>) =>
          receiver.#export(path, call, done),
      });
    }
    return receiver;
  }

  /** The endpoint to give an exporter, e.g. http://127.0.0.1:40123 (no path with gRPC). */
  get url(): string {
    return `${this.tls ? "https" : "http"}://127.0.0.1:${this.#port}`;
  }

  /** Answers the next `count` calls with the gRPC status `code` (their content is discarded). */
  failNext(count: number, code: status = status.UNAVAILABLE): void {
    this.#failures = { count, code };
  }

  /** Stops the server and drops open calls and connections. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.forceShutdown();
  }

  #export(path: string, call: ServerUnaryCall<Buffer, Buffer>, done: sendUnaryData<Buffer>): void {
    if (this.#failures.count > 0) {
      this.#failures.count--;
      done({ code: this.#failures.code, details: "failing on purpose" });
      return;
    }
    let items: number;
    try {
      items = this.#decode(path, call.request);
    } catch (cause) {
      this.decodeErrors.push(`${path}: ${cause instanceof Error ? cause.message : cause}`);
      done({ code: status.INVALID_ARGUMENT, details: "cannot decode" });
      return;
    }
    this.receivedRequests.push({
      path,
      contentType: "application/grpc",
      headers: flatMetadata(call.metadata),
      items,
    });
    // An empty Export*ServiceResponse: no partial_success.
    done(null, Buffer.alloc(0));
    this.notify();
  }

  #decode(path: string, body: Buffer): number {
    if (path === TRACE_EXPORT_PATH) {
      const spans = decodeTraceRequestProto(body);
      this.receivedSpans.push(...spans);
      return spans.length;
    }
    const metrics = decodeMetricsRequestProto(body);
    this.receivedMetrics.push(...metrics);
    return metrics.length;
  }
}

/** Metadata as headers: text values as is, "-bin" values as UTF-8, repeated keys joined. */
function flatMetadata(metadata: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    out[key] = values.map((v) => (typeof v === "string" ? v : v.toString("utf8"))).join(", ");
  }
  return out;
}
