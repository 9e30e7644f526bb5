/**
 * The operator: while it holds the Lease, it watches BeylaInstrumentations and the agent Pods,
 * validates each resource with the shared schema, reads the Secret its OTLP headers come from,
 * compiles the applicable resources into one versioned selector set, pushes it to every agent,
 * and writes each resource's status from the agents' answers. Resources are reconciled one key
 * at a time; only the leader writes.
 *
 * A resource whose current generation cannot be applied (a spec the API server accepted but
 * the shared schema refuses, or a Secret that is missing, unreadable or malformed) keeps its
 * last applicable generation in the set: editing a working resource into a broken one does not
 * stop what it instruments. A resource never valid contributes nothing. The last valid
 * generation is kept in memory and in the resource's status (`status.lastValid`), so that a
 * restarted operator, which has no memory, keeps applying it.
 */
import {
  ConfigError,
  parseInstrumentationSpec,
  type ResolvedExport,
  type SecretKeyRef,
  type SelectorSet,
  type SelectorSetResource,
  type TokenReviewFn,
} from "@beyla-ts/shared";
import { agentFromPod, type Pod } from "./agents.js";
import { Informer, objectKey, type KubeObject } from "./kube/informer.js";
import { LeaderElector } from "./kube/leader-election.js";
import { KubeApiError, type KubeClient } from "./kube/rest.js";
import type { Log } from "./logger.js";
import { Pusher } from "./pusher.js";
import { HeaderSecrets } from "./secrets.js";
import { SelectorSets, recordFromAnnotations, recordToAnnotations } from "./selector-sets.js";
import { OperatorServer } from "./server.js";
import {
  computeStatus,
  sameStatus,
  type InstrumentationStatus,
  type LastValid,
  type Problem,
} from "./status.js";
import { WorkQueue } from "./work-queue.js";

export const GROUP = "beyla.io";
export const VERSION = "v1alpha1";
export const PLURAL = "beylainstrumentations";

export interface BeylaInstrumentation extends KubeObject {
  spec?: unknown;
  status?: Partial<InstrumentationStatus>;
}

export interface OperatorConfig {
  /** The operator's namespace: resources there select cluster-wide. */
  namespace: string;
  agentNamespace: string;
  /** Label selector of the agent DaemonSet's Pods. */
  agentSelector: string;
  /** Used when the agent container has no port named "control". */
  agentPort: number;
  /** The agents' ServiceAccount, the only caller of GET /v1/selectors. */
  agentServiceAccount: string;
  /** Projected ServiceAccount token presented to agents. */
  tokenFile: string;
  agentCaFile?: string;
  agentInsecureSkipVerify: boolean;
  /** "https" except in tests. */
  agentScheme?: "https" | "http";
  leaseName: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** Re-push to every agent (refreshes process counts) this often. */
  resyncMs: number;
  /** Relist an informer that has been silent this long. */
  watchdogMs: number;
  listen?: { host: string; port: number; tls?: { certFile: string; keyFile: string } };
  /** Check the serving certificate and the agent CA bundle for a rotation this often. */
  tlsReloadMs?: number;
}

export interface OperatorDeps {
  client: KubeClient;
  /** TokenReview for callers of the operator's endpoint. */
  review: TokenReviewFn;
  log: Log;
  now?: () => Date;
}

/** The shared schema's verdict on one generation of a spec (memoised). */
interface SpecCheck {
  uid: string;
  generation: number;
  error?: string;
  headersFrom?: SecretKeyRef;
}

/** What the selector set carries for a resource. */
interface Applied {
  generation: number;
  spec: unknown;
  export?: ResolvedExport;
}

/** What the operator knows of one resource. */
interface ResourceState {
  uid: string;
  /** The current generation. */
  generation: number;
  /** Why the current generation is not applied as it is. */
  problem?: Problem;
  /** In the set: the current generation, or the last applicable one while it has a problem. */
  applied?: Applied;
  /** The last generation found valid, persisted in status. */
  lastValid?: LastValid;
}

export class Operator {
  readonly #c: OperatorConfig;
  readonly #d: OperatorDeps;
  readonly #elector: LeaderElector;
  readonly #server: OperatorServer | undefined;
  readonly #checks = new Map<string, SpecCheck>();
  readonly #state = new Map<string, ResourceState>();
  readonly #written = new Map<string, InstrumentationStatus>();
  readonly #secrets: HeaderSecrets;
  #sets = new SelectorSets();
  #pusher: Pusher | undefined;
  #queue: WorkQueue | undefined;
  #resources: Informer<BeylaInstrumentation> | undefined;
  #pods: Informer<Pod> | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #synced = false;
  #stopped = false;
  #lost: () => void = () => undefined;
  /** Resolves if leadership is lost (the process should then exit and start over). */
  readonly lost: Promise<void>;

  constructor(config: OperatorConfig, deps: OperatorDeps) {
    this.#c = config;
    this.#d = deps;
    this.lost = new Promise((resolve) => (this.#lost = resolve));
    this.#secrets = new HeaderSecrets(deps.client);
    this.#elector = new LeaderElector({
      client: deps.client,
      namespace: config.namespace,
      name: config.leaseName,
      identity: config.identity,
      leaseDurationMs: config.leaseDurationMs,
      renewDeadlineMs: config.renewDeadlineMs,
      retryPeriodMs: config.retryPeriodMs,
      log: deps.log,
    });
    if (config.listen !== undefined) {
      this.#server = new OperatorServer({
        ...config.listen,
        reloadIntervalMs: config.tlsReloadMs,
        review: deps.review,
        allowedUsername: `system:serviceaccount:${config.agentNamespace}:${config.agentServiceAccount}`,
        current: () => this.#currentForAgents(),
        log: deps.log,
      });
    }
  }

  get isLeader(): boolean {
    return this.#elector.isLeader;
  }

  /** The set pushed to agents (leader only). */
  get currentSet(): SelectorSet | undefined {
    return this.#synced ? this.#sets.current : undefined;
  }

  /** Starts serving; waits for the Lease, then runs until stop() or lost leadership. */
  async start(): Promise<number | undefined> {
    const port = await this.#server?.listen();
    void this.#lead();
    return port;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#resyncTimer);
    this.#queue?.stop();
    this.#resources?.stop();
    this.#pods?.stop();
    this.#pusher?.stop();
    await this.#elector.stop();
    await this.#server?.close();
  }

  async #lead(): Promise<void> {
    const acquired = await this.#elector.acquire(() => {
      this.#d.log.error("lost leadership; stopping");
      void this.stop().then(() => this.#lost());
    });
    if (!acquired || this.#stopped) return;
    const restored = recordFromAnnotations(this.#elector.acquiredAnnotations);
    this.#sets = new SelectorSets(restored);
    if (restored !== undefined) this.#d.log.info("restored selector set version", { ...restored });
    this.#pusher = new Pusher({
      tokenFile: this.#c.tokenFile,
      caFile: this.#c.agentCaFile,
      caReloadMs: this.#c.tlsReloadMs,
      insecureSkipVerify: this.#c.agentInsecureSkipVerify,
      scheme: this.#c.agentScheme,
      log: this.#d.log,
      onChange: () => this.#enqueueAll(),
      onConflict: (_agent, answer) => {
        if (this.#sets.observed(answer.appliedVersion, answer.hash)) this.#compile();
      },
    });
    this.#queue = new WorkQueue({ handler: (key) => this.#reconcile(key), log: this.#d.log });
    this.#resources = new Informer<BeylaInstrumentation>({
      name: PLURAL,
      client: this.#d.client,
      path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      log: this.#d.log,
      watchdogMs: this.#c.watchdogMs,
      handlers: {
        add: (o) => this.#queue?.add(objectKey(o)),
        update: (o) => this.#queue?.add(objectKey(o)),
        delete: (o) => this.#queue?.add(objectKey(o)),
      },
    });
    this.#pods = new Informer<Pod>({
      name: "agent pods",
      client: this.#d.client,
      path: `/api/v1/namespaces/${this.#c.agentNamespace}/pods`,
      labelSelector: this.#c.agentSelector,
      log: this.#d.log,
      watchdogMs: this.#c.watchdogMs,
      handlers: {
        add: (p) => this.#podChanged(p),
        update: (p) => this.#podChanged(p),
        delete: (p) => this.#pusher?.remove(objectKey(p)),
      },
    });
    await Promise.all([this.#resources.start(), this.#pods.start()]);
    if (this.#stopped) return;
    // Every resource (and its Secret) before the first set: a restarted operator then compiles
    // the very set the agents hold, instead of one without the resources not reconciled yet.
    await Promise.all(this.#resources.list().map((r) => this.#refresh(r)));
    if (this.#stopped) return;
    this.#synced = true;
    this.#compile();
    this.#enqueueAll();
    this.#resyncTimer = setInterval(() => {
      // Secrets are not watched (secrets.ts): every resync reads them again.
      this.#secrets.newRound();
      this.#pusher?.resync();
      this.#enqueueAll();
    }, this.#c.resyncMs);
    this.#resyncTimer.unref();
    this.#d.log.info("operator running", {
      resources: this.#resources.list().length,
      agents: this.#pods.list().length,
      version: this.#sets.current?.version ?? 0,
    });
  }

  #podChanged(pod: Pod): void {
    const agent = agentFromPod(pod, this.#c.agentPort);
    if (agent === undefined) this.#pusher?.remove(objectKey(pod));
    else this.#pusher?.upsert(agent);
  }

  #enqueueAll(): void {
    if (!this.#synced) return;
    for (const r of this.#resources?.list() ?? []) this.#queue?.add(objectKey(r));
  }

  async #reconcile(key: string): Promise<void> {
    if (!this.#synced || this.#stopped || !this.#elector.isLeader) return;
    const obj = this.#resources?.get(key);
    if (obj === undefined) {
      this.#checks.delete(key);
      this.#state.delete(key);
      this.#written.delete(key);
      this.#compile();
      return;
    }
    const state = await this.#refresh(obj);
    if (this.#stopped) return;
    this.#compile();
    await this.#writeStatus(key, obj, state);
    if (state.problem?.reason === "SecretUnavailable") {
      // The API server failed us, not the user: try again soon (with the queue's backoff).
      throw new Error(state.problem.message);
    }
  }

  /** The shared schema's verdict on the current generation (memoised per uid and generation). */
  #check(key: string, obj: BeylaInstrumentation): SpecCheck {
    const uid = obj.metadata?.uid ?? "";
    const generation = obj.metadata?.generation ?? 0;
    const known = this.#checks.get(key);
    if (known !== undefined && known.uid === uid && known.generation === generation) return known;
    const check: SpecCheck = { uid, generation, ...this.#parse(key, obj.spec) };
    this.#checks.set(key, check);
    return check;
  }

  #parse(key: string, spec: unknown): { error?: string; headersFrom?: SecretKeyRef } {
    const [namespace = "", name = ""] = key.split("/");
    try {
      const parsed = parseInstrumentationSpec(spec, {
        namespace,
        name,
        clusterWide: namespace === this.#c.namespace,
      });
      const headersFrom = parsed.export?.otlp?.headersFrom;
      return headersFrom === undefined ? {} : { headersFrom };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return { error: err.message };
    }
  }

  /** The resolved export settings of a valid spec: its Secret's headers, or a problem. */
  async #resolve(
    namespace: string,
    headersFrom: SecretKeyRef | undefined,
  ): Promise<{ export?: ResolvedExport } | { problem: Problem }> {
    if (headersFrom === undefined) return {};
    const result = await this.#secrets.headers(namespace, headersFrom);
    if ("problem" in result) return result;
    return { export: { otlp: { headers: result.headers } } };
  }

  /**
   * Validates the current generation and resolves its Secret; when that fails, the resource
   * keeps what it had in the set, or (after a restart) the last valid generation persisted in
   * its status, when that one is still valid and its Secret readable.
   */
  async #refresh(obj: BeylaInstrumentation): Promise<ResourceState> {
    const key = objectKey(obj);
    const [namespace = ""] = key.split("/");
    const uid = obj.metadata?.uid ?? "";
    const generation = obj.metadata?.generation ?? 0;
    let before = this.#state.get(key);
    if (before !== undefined && before.uid !== uid) before = undefined;
    const state: ResourceState = {
      uid,
      generation,
      applied: before?.applied,
      lastValid: before?.lastValid,
    };
    const check = this.#check(key, obj);
    if (check.error !== undefined) {
      state.problem = { reason: "InvalidSpec", message: check.error };
    } else {
      const resolved = await this.#resolve(namespace, check.headersFrom);
      const spec = obj.spec ?? {};
      if ("problem" in resolved) state.problem = resolved.problem;
      else {
        state.applied = { generation, spec, ...resolved };
        state.lastValid = { generation, spec };
      }
    }
    if (state.problem !== undefined && state.applied === undefined) {
      state.lastValid ??= persistedLastValid(obj.status?.lastValid, generation);
      const last = state.lastValid;
      if (last !== undefined) {
        const again = this.#parse(key, last.spec);
        const resolved =
          again.error === undefined ? await this.#resolve(namespace, again.headersFrom) : undefined;
        if (again.error !== undefined) {
          this.#d.log.warn("the last valid generation kept in status is not valid any more", {
            resource: key,
            generation: last.generation,
          });
          state.lastValid = undefined;
        } else if (resolved !== undefined && !("problem" in resolved)) {
          state.applied = { generation: last.generation, spec: last.spec, ...resolved };
          this.#d.log.info("applying the last valid generation kept in status", {
            resource: key,
            generation: last.generation,
          });
        }
      }
    }
    if (state.problem !== undefined && state.problem.message !== before?.problem?.message) {
      this.#d.log.warn("the current generation cannot be applied", {
        resource: key,
        generation,
        reason: state.problem.reason,
        applied: state.applied?.generation ?? "none",
      });
    }
    // Not for a resource deleted meanwhile (its reconcile has dropped it, or will).
    if (this.#resources?.get(key)?.metadata?.uid === uid) this.#state.set(key, state);
    return state;
  }

  /** Recompiles the set from what each resource applies; pushes it when it changed. */
  #compile(): void {
    if (!this.#synced || this.#pusher === undefined) return;
    const resources: SelectorSetResource[] = [];
    for (const obj of this.#resources?.list() ?? []) {
      const state = this.#state.get(objectKey(obj));
      const applied = state?.applied;
      if (applied === undefined || state?.uid !== (obj.metadata?.uid ?? "")) continue;
      const resource: SelectorSetResource = {
        namespace: obj.metadata?.namespace ?? "",
        name: obj.metadata?.name ?? "",
        uid: state.uid,
        generation: applied.generation,
        clusterWide: obj.metadata?.namespace === this.#c.namespace,
        spec: applied.spec,
      };
      if (applied.export !== undefined) resource.export = applied.export;
      resources.push(resource);
    }
    const { set, changed } = this.#sets.update(resources);
    if (!changed) return;
    this.#d.log.info("selector set compiled", {
      version: set.version,
      hash: set.hash,
      resources: set.resources.length,
    });
    const record = this.#sets.record();
    if (record !== undefined) this.#elector.setAnnotations(recordToAnnotations(record));
    this.#pusher.setTarget(set);
  }

  async #writeStatus(key: string, obj: BeylaInstrumentation, state: ResourceState): Promise<void> {
    const previous = this.#written.get(key) ?? obj.status;
    const agents = this.#pusher?.agents() ?? [];
    // Just started (or just elected): a ready agent not heard from yet still holds what the
    // status already says for this generation; "applied by 0 of N" would not be the truth.
    const unheard = agents.some((a) => a.agent.ready && !a.answer && a.error === undefined);
    if (unheard && previous?.observedGeneration === state.generation) return;
    const status = computeStatus({
      namespace: obj.metadata?.namespace ?? "",
      name: obj.metadata?.name ?? "",
      generation: state.generation,
      problem: state.problem,
      appliedGeneration: state.applied?.generation,
      lastValid: state.lastValid,
      since: state.applied === undefined ? undefined : this.#sets.since(key),
      agents,
      agentSelector: `${this.#c.agentSelector} in namespace ${this.#c.agentNamespace}`,
      previous,
      now: this.#d.now?.() ?? new Date(),
    });
    if (sameStatus(previous, status)) return;
    const [namespace, name] = key.split("/");
    try {
      // The whole status at once (a JSON patch "add" replaces it): a merge patch would merge
      // lastValid.spec with the previous one and keep fields that the new spec dropped.
      await this.#d.client.request(
        "PATCH",
        `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}/${name}/status`,
        [{ op: "add", path: "/status", value: status }],
        "application/json-patch+json",
      );
      this.#written.set(key, status);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return;
      throw new Error(`write status of ${key}`, { cause: err });
    }
  }

  #currentForAgents(): SelectorSet | { unavailable: string } {
    if (!this.#elector.isLeader) return { unavailable: "this replica is not the leader" };
    const set = this.currentSet;
    return set ?? { unavailable: "the selector set is not compiled yet" };
  }
}

/** `status.lastValid` as read back from the API server, when well-formed and not newer. */
function persistedLastValid(value: unknown, generation: number): LastValid | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const v = value as { generation?: unknown; spec?: unknown };
  if (typeof v.generation !== "number" || !Number.isSafeInteger(v.generation)) return undefined;
  if (v.generation < 1 || v.generation > generation) return undefined;
  if (v.spec === null || typeof v.spec !== "object") return undefined;
  return { generation: v.generation, spec: v.spec };
}
