/**
 * The operator's own endpoint, for agents that start (docs/control-protocol.md):
 *
 * GET /v1/selectors  the selector set in force; 503 from a replica that is not the leader or
 *                    before the first set is compiled. Needs a bearer token of the agents'
 *                    ServiceAccount (TokenReview).
 * GET /healthz       200 while the process runs
 * GET /readyz        200 once the replica is serving (leader with a set, or standing by)
 *
 * The serving certificate is checked for a rotation every `reloadIntervalMs` (cert-manager
 * renews the Secret, the kubelet swaps the mounted files): a new certificate that fits its key
 * is used for the next TLS handshakes, a bad or partial one keeps the previous (tls-reload.ts).
 */
import type { Server as HttpsServer } from "node:https";
import { BearerAuth, type SelectorSet, type TokenReviewFn } from "@beyla-ts/shared";
import Fastify, { type FastifyInstance } from "fastify";
import type { Log } from "./logger.js";
import { servingCertificate, type ReloadingFiles, type ServingPair } from "./tls-reload.js";

export interface OperatorServerOptions {
  port: number;
  host: string;
  /** Absent: plain HTTP (tests only). */
  tls?: { certFile: string; keyFile: string };
  /** How often the certificate files are checked for a rotation. Default 60 s; 0: never. */
  reloadIntervalMs?: number;
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
  readonly #cert: ReloadingFiles<ServingPair> | undefined;
  #reloadTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: OperatorServerOptions) {
    this.#options = options;
    const auth = new BearerAuth({
      review: options.review,
      allowedUsername: options.allowedUsername,
    });
    let https: { cert: Buffer; key: Buffer } | undefined;
    if (options.tls !== undefined) {
      this.#cert = servingCertificate(options.tls.certFile, options.tls.keyFile, options.log);
      const pair = this.#cert.load();
      https = { cert: pair.cert, key: pair.key };
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
    this.#startReload();
    const address = this.#app.server.address();
    return typeof address === "object" && address !== null ? address.port : this.#options.port;
  }

  /** SHA-256 fingerprint of the certificate served to new connections (none over HTTP). */
  get fingerprint(): string | undefined {
    return this.#cert?.current?.fingerprint;
  }

  /** Checks the certificate files now; true when a new certificate is in use. */
  reloadCertificate(): boolean {
    const cert = this.#cert;
    if (cert === undefined || !cert.poll()) return false;
    const pair = cert.current!;
    try {
      // Existing connections keep their session; new handshakes get the new certificate.
      (this.#app.server as HttpsServer).setSecureContext({ cert: pair.cert, key: pair.key });
    } catch (err) {
      this.#options.log.warn("cannot switch to the new serving certificate", { error: err });
      return false;
    }
    return true;
  }

  close(): Promise<void> {
    clearInterval(this.#reloadTimer);
    this.#closing ??= this.#app.close();
    return this.#closing;
  }

  #startReload(): void {
    const every = this.#options.reloadIntervalMs ?? 60_000;
    if (this.#cert === undefined || every <= 0 || this.#reloadTimer !== undefined) return;
    this.#reloadTimer = setInterval(() => this.reloadCertificate(), every);
    this.#reloadTimer.unref();
  }
}
