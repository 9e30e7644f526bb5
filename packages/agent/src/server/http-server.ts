/**
 * The agent's HTTP server (fastify): the Prometheus scrape endpoint, liveness and
 * readiness.
 *
 * GET <metricsPath>  every source's Prometheus text, in order, streamed as it is rendered
 *                    (sources yield to the event loop between chunks, so a large scrape
 *                    does not stall capture)
 * GET /healthz       200 while the process is alive
 * GET /readyz        200 when the readiness callback says so, else 503 with a JSON reason
 */
import { Readable } from "node:stream";
import Fastify, { type FastifyInstance } from "fastify";

/** Something that renders Prometheus text exposition, possibly in several chunks. */
export interface MetricsSource {
  collect(): AsyncIterable<string>;
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

async function* concat(sources: readonly MetricsSource[]): AsyncGenerator<string> {
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
  readonly #app: FastifyInstance;
  readonly #options: AgentHttpServerOptions;
  #listening: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  /** Validates the options; throws naming the field when they cannot work. */
  constructor(options: AgentHttpServerOptions) {
    const field = options.configField ?? "prometheus_export";
    const path = options.metricsPath ?? "/metrics";
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      throw new Error(`${field}.port: ${options.port} is not a TCP port (0-65535)`);
    }
    if (!path.startsWith("/") || path === "/healthz" || path === "/readyz") {
      throw new Error(
        `${field}.path: "${path}" must start with "/" and not be /healthz or /readyz`,
      );
    }
    this.#options = options;
    this.#app = Fastify({ logger: false });
    this.#app.get(path, async (_request, reply) => {
      const iterator = concat(options.sources);
      // Render the first chunk before answering, so a failing source yields a 500.
      const first = await iterator.next();
      async function* rest(): AsyncGenerator<string> {
        if (first.done !== true) yield first.value;
        yield* iterator;
      }
      return reply.type(PROMETHEUS_CONTENT_TYPE).send(Readable.from(rest()));
    });
    this.#app.get("/healthz", async () => ({ status: "ok" }));
    this.#app.get("/readyz", async (_request, reply) => {
      const readiness = readinessOf(options.readiness ?? (() => true));
      if (readiness.ready) return { status: "ready" };
      return reply.code(503).send({ status: "not ready", reason: readiness.reason ?? "not ready" });
    });
  }

  /** Starts listening; resolves with the bound port. */
  async listen(): Promise<number> {
    this.#listening ??= this.#app
      .listen({ port: this.#options.port, host: this.#options.host ?? "0.0.0.0" })
      .then(() => undefined);
    await this.#listening;
    return this.port;
  }

  /** The bound port (after listen()). */
  get port(): number {
    const address = this.#app.server.address();
    return typeof address === "object" && address !== null ? address.port : this.#options.port;
  }

  /** Stops listening and closes connections. Safe to call twice, and before listen(). */
  close(): Promise<void> {
    this.#closing ??= this.#app.close();
    return this.#closing;
  }
}
