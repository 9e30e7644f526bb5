/**
 * The operator: while it holds the Lease, it watches BeylaInstrumentations and the agent Pods,
 * validates each resource with the shared schema, compiles the valid ones into one versioned
 * selector set, pushes it to every agent, and writes each resource's status from the agents'
 * answers. Resources are reconciled one key at a time; only the leader writes.
 */
import {
  ConfigError,
  parseInstrumentationSpec,
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
import { SelectorSets, recordFromAnnotations, recordToAnnotations } from "./selector-sets.js";
import { OperatorServer } from "./server.js";
import { computeStatus, sameStatus, type InstrumentationStatus } from "./status.js";
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
}

export interface OperatorDeps {
  client: KubeClient;
  /** TokenReview for callers of the operator's endpoint. */
  review: TokenReviewFn;
  log: Log;
  now?: () => Date;
}

interface Validity {
  uid: string;
  generation: number;
  error?: string;
}

export class Operator {
  readonly #c: OperatorConfig;
  readonly #d: OperatorDeps;
  readonly #elector: LeaderElector;
  readonly #server: OperatorServer | undefined;
  readonly #validity = new Map<string, Validity>();
  readonly #written = new Map<string, InstrumentationStatus>();
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
    this.#synced = true;
    this.#compile();
    this.#enqueueAll();
    this.#resyncTimer = setInterval(() => {
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
    this.#compile();
    const obj = this.#resources?.get(key);
    if (obj === undefined) {
      this.#validity.delete(key);
      this.#written.delete(key);
      return;
    }
    await this.#writeStatus(key, obj);
  }

  /** Validity of a resource's current generation (memoised per uid and generation). */
  #validate(key: string, obj: BeylaInstrumentation): Validity {
    const uid = obj.metadata?.uid ?? "";
    const generation = obj.metadata?.generation ?? 0;
    const known = this.#validity.get(key);
    if (known !== undefined && known.uid === uid && known.generation === generation) return known;
    const v: Validity = { uid, generation };
    const [namespace = "", name = ""] = key.split("/");
    try {
      parseInstrumentationSpec(obj.spec, {
        namespace,
        name,
        clusterWide: namespace === this.#c.namespace,
      });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      v.error = err.message;
    }
    this.#validity.set(key, v);
    return v;
  }

  /** Recompiles the set from every valid resource; pushes it when it changed. */
  #compile(): void {
    if (!this.#synced || this.#pusher === undefined) return;
    const resources: SelectorSetResource[] = [];
    for (const obj of this.#resources?.list() ?? []) {
      const key = objectKey(obj);
      const v = this.#validate(key, obj);
      if (v.error !== undefined) continue;
      resources.push({
        namespace: obj.metadata?.namespace ?? "",
        name: obj.metadata?.name ?? "",
        uid: v.uid,
        generation: v.generation,
        clusterWide: obj.metadata?.namespace === this.#c.namespace,
        spec: obj.spec ?? {},
      });
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

  async #writeStatus(key: string, obj: BeylaInstrumentation): Promise<void> {
    const v = this.#validate(key, obj);
    const previous = this.#written.get(key) ?? obj.status;
    const status = computeStatus({
      namespace: obj.metadata?.namespace ?? "",
      name: obj.metadata?.name ?? "",
      generation: v.generation,
      invalid: v.error,
      since: v.error === undefined ? this.#sets.since(key) : undefined,
      agents: this.#pusher?.agents() ?? [],
      agentSelector: `${this.#c.agentSelector} in namespace ${this.#c.agentNamespace}`,
      previous,
      now: this.#d.now?.() ?? new Date(),
    });
    if (sameStatus(previous, status)) return;
    const [namespace, name] = key.split("/");
    try {
      await this.#d.client.request(
        "PATCH",
        `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}/${name}/status`,
        { status },
        "application/merge-patch+json",
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
