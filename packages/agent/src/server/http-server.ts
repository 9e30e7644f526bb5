/**
 * The agent's HTTP server: the Prometheus scrape endpoint, liveness and readiness.
 *
 * GET <metricsPath>  every source's Prometheus text, in order, streamed as it is rendered
 *                    (sources yield to the event loop between chunks, so a large scrape
 *                    does not stall capture)
 * GET /healthz       200 while the process is alive
 * GET /readyz        200 when the readiness callback says so, else 503 with a JSON reason
 *
 * Plain node:http rather than fastify: three fixed routes do not need a framework, and
 * fastify adds about 17 MB to the RSS of every agent (the control endpoint, which only runs
 * in Kubernetes, still uses it).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Something that renders Prometheus text exposition, possibly in several chunks. A Buffer
 * chunk may be reused for a later chunk: write it (or copy it) before asking for the next.
 */
export interface MetricsSource {
  collect(): AsyncIterable<string | Buffer>;
}

export interface Readiness {
  ready: boolean;
  /** Why not ready, shown in the 503 body. */
  reason?: string;
}

export interface AgentHttpServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Address to bind. Default "0.0.0.0". */
  host?: string;
  /** Path of the scrape endpoint. Default "/metrics". */
  metricsPath?: string;
  /** Rendered in this order at every scrape (e.g. application metrics, then internal ones). */
  sources: readonly MetricsSource[];
  /** Asked at every /readyz. Default: always ready. */
  readiness?: () => Readiness | boolean;
  /** Config block named in error messages. Default "prometheus_export". */
  configField?: string;
}

/** Content type of the Prometheus text format, as prom-client sends it. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

async function* concat(sources: readonly MetricsSource[]): AsyncGenerator<string | Buffer> {
  for (const source of sources) yield* source.collect();
}

function readinessOf(check: () => Readiness | boolean): Readiness {
  try {
    const result = check();
    return typeof result === "boolean" ? { ready: result } : result;
  } catch (cause) {
    return { ready: false, reason: cause instanceof Error ? cause.message : String(cause) };
  }
}

export class AgentHttpServer {
  readonly #server: Server;
  readonly #options: AgentHttpServerOptions;
  /** Scrape paths and what each renders: metricsPath, and those added by setMetricsPath. */
  readonly #paths = new Map<string, readonly MetricsSource[]>();
  readonly #field: string;
  #listening: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  /** Validates the options; throws naming the field when they cannot work. */
  constructor(options: AgentHttpServerOptions) {
    const field = options.configField ?? "prometheus_export";
    const path = options.metricsPath ?? "/metrics";
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      throw new Error(`${field}.port: ${options.port} is not a TCP port (0-65535)`);
    }
    checkMetricsPath(field, path);
    this.#options = options;
    this.#field = field;
    this.#paths.set(path, options.sources);
    this.#server = createServer((request, response) => {
      this.#route(request, response).catch(() => response.destroy());
    });
  }

  /**
   * Serves `sources` on another scrape path (a BeylaInstrumentation's `export.prometheus` on
   * the agent's port); undefined stops serving it. Throws on /healthz, /readyz or no "/".
   */
  setMetricsPath(path: string, sources: readonly MetricsSource[] | undefined): void {
    checkMetricsPath(this.#field, path);
    if (sources) this.#paths.set(path, sources);
    else this.#paths.delete(path);
  }

  async #route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? "/").split("?", 1)[0] ?? "/";
    const sources = this.#paths.get(path);
    const known = sources !== undefined || path === "/healthz" || path === "/readyz";
    if (!known || (request.method !== "GET" && request.method !== "HEAD")) {
      const message = `Route ${request.method ?? "?"}:${request.url ?? "/"} not found`;
      return sendJson(response, 404, { message, error: "Not Found", statusCode: 404 });
    }
    if (path === "/healthz") return sendJson(response, 200, { status: "ok" });
    if (path === "/readyz") {
      const readiness = readinessOf(this.#options.readiness ?? (() => true));
      if (readiness.ready) return sendJson(response, 200, { status: "ready" });
      const reason = readiness.reason ?? "not ready";
      return sendJson(response, 503, { status: "not ready", reason });
    }
    await this.#scrape(request, response, sources ?? []);
  }

  /** Streams the sources; a source failing before its first chunk gives a 500. */
  async #scrape(
    request: IncomingMessage,
    response: ServerResponse,
    sources: readonly MetricsSource[],
  ): Promise<void> {
    const iterator = concat(sources);
    let next: IteratorResult<string | Buffer>;
    try {
      next = await iterator.next();
    } catch {
      const error = "Internal Server Error";
      return sendJson(response, 500, { statusCode: 500, error, message: "scrape failed" });
    }
    response.writeHead(200, { "content-type": PROMETHEUS_CONTENT_TYPE });
    if (request.method === "HEAD") {
      response.end();
      return;
    }
    while (next.done !== true) {
      // Wait for the socket to drain: a slow scraper must not buffer 100 MB in the agent.
      if (!response.write(next.value)) await drained(response);
      if (response.destroyed) return;
      next = await iterator.next();
    }
    response.end();
  }

  /** Starts listening; resolves with the bound port. */
  async listen(): Promise<number> {
    this.#listening ??= new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#options.port, this.#options.host ?? "0.0.0.0", () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    await this.#listening;
    return this.port;
  }

  /** The bound port (after listen()). */
  get port(): number {
    const address = this.#server.address() as AddressInfo | string | null;
    return typeof address === "object" && address !== null ? address.port : this.#options.port;
  }

  /** Stops listening and closes connections. Safe to call twice, and before listen(). */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }
}

function checkMetricsPath(field: string, path: string): void {
  if (!path.startsWith("/") || path === "/healthz" || path === "/readyz") {
    throw new Error(`${field}.path: "${path}" must start with "/" and not be /healthz or /readyz`);
  }
}

function sendJson(response: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}

function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}
