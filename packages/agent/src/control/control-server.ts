/**
 * The agent's control endpoint (docs/control-protocol.md), HTTPS on the pod IP:
 *
 * PUT /v1/selectors  a selector set from the operator; 200 with the answer, 409 (and the
 *                    answer in force) for an older or conflicting version, 400 for a
 *                    malformed set, 500 when applying failed (the previous set stays)
 * GET /v1/selectors  the answer for the set in force
 * GET /healthz       200, unauthenticated (for probes)
 *
 * Every /v1 call needs `Authorization: Bearer` with a token of the operator's
 * ServiceAccount (TokenReview). Without a certificate the server speaks plain HTTP, for tests.
 */
import { readFileSync, statSync } from "node:fs";
import type { Server as HttpsServer } from "node:https";
import {
  BearerAuth,
  readSelectorSet,
  type SelectedCount,
  type SelectorSet,
  type TokenReviewFn,
} from "@beyla-ts/shared";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import {
  SelectorState,
  VersionConflictError,
  type ApplyFn,
  type ControlAnswer,
} from "./selector-state.js";

export interface ControlLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface ControlTls {
  certFile: string;
  keyFile: string;
  /** How often the files are checked for a renewed certificate. Default 60 s; 0: never. */
  reloadIntervalMs?: number;
}

export interface ControlServerOptions {
  /** Default 9443; 0 picks a free port. */
  port?: number;
  /** Default "0.0.0.0". */
  host?: string;
  /** Absent: plain HTTP (tests only). */
  tls?: ControlTls;
  /** This node's name, in every answer. */
  node: string;
  /** TokenReview (kubeTokenReview(kc, audiences) in a cluster). */
  review: TokenReviewFn;
  /** The operator's ServiceAccount username: system:serviceaccount:<ns>:<name>. */
  allowedUsername: string;
  /** Puts a set in force. */
  apply: ApplyFn;
  /** Fresh per-resource process counts for answers; default: those of the last apply. */
  selected?: () => SelectedCount[];
  /** Called after every authenticated PUT with the set and the HTTP status answered. */
  onPush?: (set: SelectorSet, status: 200 | 409 | 500, answer: ControlAnswer) => void;
  /** How long a token review is trusted. Default 30 s. */
  authTtlMs?: number;
  log?: ControlLogger;
}

const BODY_LIMIT = 8 << 20;

export class ControlServer {
  readonly #options: ControlServerOptions;
  readonly #state: SelectorState;
  readonly #auth: BearerAuth;
  readonly #app: FastifyInstance;
  #reloadTimer: NodeJS.Timeout | undefined;
  /** Modification times of the certificate and key in use ("" before the first read). */
  #tlsFilesSeen = "";
  #listening: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** The fields a pushed set carried that this agent does not know, as last logged. */
  #ignoredLogged = "";

  /** Reads the certificate (throws naming the file when it cannot). */
  constructor(options: ControlServerOptions) {
    this.#options = options;
    this.#state = new SelectorState({
      node: options.node,
      apply: options.apply,
      selected: options.selected,
    });
    this.#auth = new BearerAuth({
      review: options.review,
      allowedUsername: options.allowedUsername,
      ttlMs: options.authTtlMs,
    });
    const tls = options.tls === undefined ? undefined : this.#readTls(options.tls);
    const app = (
      tls === undefined
        ? Fastify({ logger: false, bodyLimit: BODY_LIMIT })
        : Fastify({ logger: false, bodyLimit: BODY_LIMIT, https: tls })
    ) as FastifyInstance;
    app.addHook("onRequest", async (request, reply) => {
      if (!request.url.startsWith("/v1/")) return;
      const verdict = await this.#auth.check(request.headers.authorization);
      if (!verdict.ok) {
        if (verdict.status === 503)
          options.log?.warn("control: token review failed", { reason: verdict.reason });
        return reply.code(verdict.status).send({ error: verdict.reason });
      }
    });
    app.get("/healthz", async () => ({ status: "ok" }));
    app.get("/v1/selectors", async () => this.#state.answer());
    app.put("/v1/selectors", (request, reply) => this.#put(request, reply));
    this.#app = app;
  }

  /** The set in force, if any. */
  get current(): SelectorSet | undefined {
    return this.#state.current;
  }

  /** The answer GET /v1/selectors gives. */
  answer(): ControlAnswer {
    return this.#state.answer();
  }

  /**
   * Offers a set obtained another way (pullOnce at start), with the same ordering rules as a
   * push; rejects with a VersionConflictError when a newer set is already in force.
   */
  offer(set: SelectorSet): Promise<ControlAnswer> {
    return this.#state.offer(set);
  }

  /** Starts listening; resolves with the bound port. */
  async listen(): Promise<number> {
    this.#listening ??= this.#app
      .listen({ port: this.#options.port ?? 9443, host: this.#options.host ?? "0.0.0.0" })
      .then(() => this.#startReload());
    await this.#listening;
    return this.port;
  }

  get port(): number {
    const address = this.#app.server.address();
    return typeof address === "object" && address !== null
      ? address.port
      : (this.#options.port ?? 9443);
  }

  /** Stops listening. Safe to call twice, and before listen(). */
  close(): Promise<void> {
    if (this.#reloadTimer !== undefined) clearInterval(this.#reloadTimer);
    this.#closing ??= this.#app.close();
    return this.#closing;
  }

  async #put(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    let set: SelectorSet;
    const ignored: string[] = [];
    try {
      set = readSelectorSet(request.body, ignored);
    } catch (err) {
      return reply.code(400).send({ error: err instanceof Error ? err.message : String(err) });
    }
    this.#logIgnored(set.version, ignored);
    try {
      const answer = await this.#state.offer(set);
      this.#options.log?.info("control: selector set in force", {
        version: answer.appliedVersion,
        hash: answer.hash,
        resources: set.resources.length,
      });
      this.#options.onPush?.(set, 200, answer);
      return answer;
    } catch (err) {
      if (err instanceof VersionConflictError) {
        this.#options.onPush?.(set, 409, err.answer);
        return reply.code(409).send({ ...err.answer, error: err.message });
      }
      this.#options.log?.warn("control: applying a selector set failed", {
        version: set.version,
        error: err,
      });
      const answer = this.#state.answer();
      this.#options.onPush?.(set, 500, answer);
      return reply.code(500).send({
        ...answer,
        error: `applying version ${set.version} failed: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }

  /**
   * Says once (not at every resync push) which fields of the pushed sets this agent does not
   * know: an operator newer than the agent. They are in the hash, and otherwise ignored.
   */
  #logIgnored(version: number, ignored: string[]): void {
    const key = ignored.join("\n");
    if (key === this.#ignoredLogged) return;
    this.#ignoredLogged = key;
    if (ignored.length === 0) return;
    this.#options.log?.info("control: the selector set has fields this agent does not know", {
      version,
      ignored,
    });
  }

  #readTls(tls: ControlTls): { cert: Buffer; key: Buffer } {
    try {
      this.#tlsFilesSeen = tlsFilesStamp(tls);
      return { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
    } catch (cause) {
      throw new Error(`control endpoint: cannot read ${tls.certFile} / ${tls.keyFile}`, { cause });
    }
  }

  /** Picks up a renewed certificate (cert-manager, kubelet-projected secrets) without restart. */
  #startReload(): void {
    const tls = this.#options.tls;
    const every = tls?.reloadIntervalMs ?? 60_000;
    if (tls === undefined || every <= 0) return;
    this.#reloadTimer = setInterval(() => {
      try {
        const stamp = tlsFilesStamp(tls);
        if (stamp === this.#tlsFilesSeen) return;
        const fresh = { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
        // Throws while the pair does not match (a certificate written before its key): the
        // stamp is kept only once it applies, so the next tick tries again.
        (this.#app.server as HttpsServer).setSecureContext(fresh);
        this.#tlsFilesSeen = stamp;
        this.#options.log?.info("control: serving certificate reloaded", { file: tls.certFile });
      } catch (err) {
        this.#options.log?.warn("control: cannot reload the serving certificate", { error: err });
      }
    }, every);
    this.#reloadTimer.unref();
  }
}

/** Both files' modification times: a change of either is a new certificate to load. */
function tlsFilesStamp(tls: ControlTls): string {
  return `${statSync(tls.certFile).mtimeMs}/${statSync(tls.keyFile).mtimeMs}`;
}
