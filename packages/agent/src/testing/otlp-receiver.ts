/**
 * A real, tiny OTLP/HTTP receiver for end-to-end tests: a node http server on
 * 127.0.0.1 (random port) accepting POST /v1/traces and /v1/metrics as
 * application/x-protobuf or application/json (optionally gzip-encoded). It decodes what it
 * receives and records the headers of every request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { decodeMetricsRequestJson, decodeTraceRequestJson } from "./otlp-json-decode.js";
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

const MAX_BODY_BYTES = 64 * 1024 * 1024;

export class OtlpReceiver extends OtlpReceived {
  readonly #server: Server;
  #failures: { count: number; status: number } = { count: 0, status: 500 };
  #closed = false;

  private constructor(server: Server) {
    super();
    this.#server = server;
  }

  /** Starts a receiver on 127.0.0.1 and a random port. */
  static async start(options: { tls?: { cert: string; key: string } } = {}): Promise<OtlpReceiver> {
    const server = options.tls ? createTlsServer(options.tls) : createServer();
    const receiver = new OtlpReceiver(server);
    server.on("request", (req, res) => receiver.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return receiver;
  }

  /** Base URL, e.g. http://127.0.0.1:40123 (append /v1/traces or /v1/metrics). */
  get url(): string {
    const address = this.#server.address() as AddressInfo;
    const scheme = "setSecureContext" in this.#server ? "https" : "http";
    return `${scheme}://127.0.0.1:${address.port}`;
  }

  /** Answers the next `count` requests with `status` (their content is discarded). */
  failNext(count: number, status = 500): void {
    this.#failures = { count, status };
  }

  /** Stops listening and drops open connections. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => this.#respond(req, res, Buffer.concat(chunks), size));
  }

  #respond(req: IncomingMessage, res: ServerResponse, raw: Buffer, size: number): void {
    const path = (req.url ?? "").split("?")[0] ?? "";
    const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
    const json = contentType === "application/json";
    if (req.method !== "POST" || (path !== "/v1/traces" && path !== "/v1/metrics")) {
      res.writeHead(404).end();
      return;
    }
    if (this.#failures.count > 0) {
      this.#failures.count--;
      res
        .writeHead(this.#failures.status, { "content-type": "text/plain" })
        .end("failing on purpose");
      return;
    }
    try {
      if (size > MAX_BODY_BYTES) throw new Error(`body of ${size} bytes is too large`);
      const body = req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
      const items = this.#decode(path, json, body);
      this.receivedRequests.push({ path, contentType, headers: flatHeaders(req), items });
    } catch (cause) {
      this.decodeErrors.push(
        `${path} ${contentType}: ${cause instanceof Error ? cause.message : cause}`,
      );
      res.writeHead(400, { "content-type": "text/plain" }).end("cannot decode");
      return;
    }
    if (json) res.writeHead(200, { "content-type": "application/json" }).end("{}");
    else res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    this.notify();
  }

  #decode(path: string, json: boolean, body: Buffer): number {
    if (path === "/v1/traces") {
      const spans = json
        ? decodeTraceRequestJson(JSON.parse(body.toString("utf8")))
        : decodeTraceRequestProto(body);
      this.receivedSpans.push(...spans);
      return spans.length;
    }
    const metrics = json
      ? decodeMetricsRequestJson(JSON.parse(body.toString("utf8")))
      : decodeMetricsRequestProto(body);
    this.receivedMetrics.push(...metrics);
    return metrics.length;
  }
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}
