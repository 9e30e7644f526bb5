/**
 * The operator's own endpoint, for agents that start (docs/control-protocol.md):
 *
 * GET /v1/selectors  the selector set in force; 503 from a replica that is not the leader or
 *                    before the first set is compiled. Needs a bearer token of the agents'
 *                    ServiceAccount (TokenReview).
 * GET /healthz       200 while the process runs
 * GET /readyz        200 once the replica is serving (leader with a set, or standing by)
 */
import { readFileSync } from "node:fs";
import { BearerAuth, type SelectorSet, type TokenReviewFn } from "@beyla-ts/shared";
import Fastify, { type FastifyInstance } from "fastify";
import type { Log } from "./logger.js";

export interface OperatorServerOptions {
  port: number;
  host: string;
  /** Absent: plain HTTP (tests only). */
  tls?: { certFile: string; keyFile: string };
  review: TokenReviewFn;
  /** The agents' ServiceAccount username. */
  allowedUsername: string;
  /** The set to serve, or why there is none. */
  current: () => SelectorSet | { unavailable: string };
  log: Log;
}

export class OperatorServer {
  readonly #app: FastifyInstance;
  readonly #options: OperatorServerOptions;
  #closing: Promise<void> | undefined;

  constructor(options: OperatorServerOptions) {
    this.#options = options;
    const auth = new BearerAuth({
      review: options.review,
      allowedUsername: options.allowedUsername,
    });
    let https: { cert: Buffer; key: Buffer } | undefined;
    if (options.tls !== undefined) {
      try {
        https = {
          cert: readFileSync(options.tls.certFile),
          key: readFileSync(options.tls.keyFile),
        };
      } catch (cause) {
        throw new Error(`cannot read ${options.tls.certFile} / ${options.tls.keyFile}`, { cause });
      }
    }
    const app = (
      https === undefined ? Fastify({ logger: false }) : Fastify({ logger: false, https })
    ) as FastifyInstance;
    app.addHook("onRequest", async (request, reply) => {
      if (!request.url.startsWith("/v1/")) return;
      const verdict = await auth.check(request.headers.authorization);
      if (!verdict.ok) {
        if (verdict.status === 503)
          options.log.warn("token review failed", { reason: verdict.reason });
        return reply.code(verdict.status).send({ error: verdict.reason });
      }
    });
    app.get("/healthz", async () => ({ status: "ok" }));
    app.get("/readyz", async () => ({ status: "ready" }));
    app.get("/v1/selectors", async (_request, reply) => {
      const current = options.current();
      if ("unavailable" in current) {
        return reply.code(503).header("retry-after", "2").send({ error: current.unavailable });
      }
      return current;
    });
    this.#app = app;
  }

  async listen(): Promise<number> {
    await this.#app.listen({ port: this.#options.port, host: this.#options.host });
    const address = this.#app.server.address();
    return typeof address === "object" && address !== null ? address.port : this.#options.port;
  }

  close(): Promise<void> {
    this.#closing ??= this.#app.close();
    return this.#closing;
  }
}
