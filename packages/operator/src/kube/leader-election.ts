/**
 * Leader election on a coordination.k8s.io/v1 Lease, the way client-go does it: a candidate
 * takes the Lease when it is free or when its holder has not renewed it for a whole lease
 * duration as observed locally (no clock comparison between machines), every write is
 * guarded by resourceVersion, the leader renews every retry period and steps down when it
 * could not renew within the renew deadline, and releases the Lease on shutdown so another
 * replica takes over at once. The leader can also keep a few annotations on the Lease (the
 * selector set's version and hash survive a restart that way).
 */
import { sleep } from "../backoff.js";
import type { Log } from "../logger.js";
import { KubeApiError, type KubeClient } from "./rest.js";

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  /** Default 15 s. */
  leaseDurationMs?: number;
  /** Default 10 s. */
  renewDeadlineMs?: number;
  /** Default 2 s. */
  retryPeriodMs?: number;
  log: Log;
  now?: () => number;
}

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number | null;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number | null;
  };
}

export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectionOptions, "now">> & { now: () => number };
  #lease: Lease | undefined;
  /** The lease record last seen (holder + renewTime) and when it was seen. */
  #observed = "";
  #observedAt = 0;
  #leader = false;
  #lastRenew = 0;
  #annotations: Record<string, string> = {};
  #acquired: Record<string, string> = {};
  #stopped = new AbortController();
  #loop: Promise<void> | undefined;
  #onLost: (() => void) | undefined;
  #wake: (() => void) | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      now: Date.now,
      ...options,
    };
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** Annotations on the Lease when leadership was acquired. */
  get acquiredAnnotations(): Readonly<Record<string, string>> {
    return this.#acquired;
  }

  /** Annotations to keep on the Lease, written with the next renewal. */
  setAnnotations(annotations: Record<string, string>): void {
    this.#annotations = { ...this.#annotations, ...annotations };
    // Write them now rather than at the next renewal.
    this.#wake?.();
  }

  /**
   * Resolves once this candidate holds the Lease (or never, if stopped first: then it
   * resolves false). Afterwards renews in the background and calls `onLost` once if it loses
   * the Lease.
   */
  async acquire(onLost: () => void): Promise<boolean> {
    this.#onLost = onLost;
    const signal = this.#stopped.signal;
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew()) {
        this.#leader = true;
        this.#lastRenew = this.#o.now();
        this.#o.log.info("leader election: acquired the lease", {
          lease: `${this.#o.namespace}/${this.#o.name}`,
          identity: this.#o.identity,
        });
        this.#loop = this.#renewLoop();
        return true;
      }
      await sleep(this.#o.retryPeriodMs, signal);
    }
    return false;
  }

  /** Stops renewing and, when leading, releases the Lease. */
  async stop(): Promise<void> {
    this.#stopped.abort();
    await this.#loop;
    if (!this.#leader) return;
    this.#leader = false;
    const lease = this.#lease;
    if (lease === undefined) return;
    try {
      const now = microTime(this.#o.now());
      await this.#put({
        ...lease,
        metadata: {
          ...lease.metadata,
          annotations: { ...lease.metadata.annotations, ...this.#annotations },
        },
        spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: now },
      });
      this.#o.log.info("leader election: released the lease", { identity: this.#o.identity });
    } catch (err) {
      // At `helm uninstall` the RBAC (or the Lease) can go before this Pod stops: nothing to
      // release then, and the Lease, if left, expires on its own.
      const gone = err instanceof KubeApiError && (err.status === 403 || err.status === 404);
      const message = gone
        ? "leader election: the lease or the right to update it is gone; not released"
        : "leader election: could not release the lease";
      this.#o.log[gone ? "info" : "warn"](message, { error: err });
    }
  }

  async #renewLoop(): Promise<void> {
    const signal = this.#stopped.signal;
    while (!signal.aborted && this.#leader) {
      await Promise.race([
        sleep(this.#o.retryPeriodMs, signal),
        new Promise<void>((resolve) => (this.#wake = resolve)),
      ]);
      this.#wake = undefined;
      if (signal.aborted) return;
      const ok = await this.#tryAcquireOrRenew();
      const now = this.#o.now();
      if (ok) {
        this.#lastRenew = now;
        continue;
      }
      if (now - this.#lastRenew >= this.#o.renewDeadlineMs) {
        this.#leader = false;
        this.#o.log.error("leader election: lost the lease", { identity: this.#o.identity });
        this.#onLost?.();
        return;
      }
    }
  }

  /** One attempt; true when this candidate holds the Lease afterwards. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const o = this.#o;
    const now = o.now();
    const nowText = microTime(now);
    const durationSeconds = Math.max(1, Math.ceil(o.leaseDurationMs / 1000));
    try {
      let current: Lease;
      try {
        current = await o.client.request<Lease>("GET", this.#path());
      } catch (err) {
        if (!(err instanceof KubeApiError) || err.status !== 404) throw err;
        const created = await o.client.request<Lease>("POST", this.#collection(), {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: o.name, namespace: o.namespace, annotations: this.#annotations },
          spec: {
            holderIdentity: o.identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: nowText,
            renewTime: nowText,
            leaseTransitions: 0,
          },
        });
        this.#lease = created;
        this.#acquired = {};
        return true;
      }
      const spec = current.spec ?? {};
      const holder = spec.holderIdentity ?? "";
      const record = `${holder}|${spec.renewTime ?? ""}`;
      if (record !== this.#observed) {
        this.#observed = record;
        this.#observedAt = now;
      }
      const heldByOther = holder !== "" && holder !== o.identity;
      const duration = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (heldByOther && this.#observedAt + duration > now) return false;
      const mine = holder === o.identity;
      const next: Lease = {
        ...current,
        metadata: {
          ...current.metadata,
          annotations: { ...current.metadata.annotations, ...this.#annotations },
        },
        spec: {
          holderIdentity: o.identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: mine ? (spec.acquireTime ?? nowText) : nowText,
          renewTime: nowText,
          leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
        },
      };
      this.#lease = await this.#put(next);
      if (!this.#leader) this.#acquired = { ...current.metadata.annotations };
      return true;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 409)) {
        o.log.warn("leader election: lease update failed", { error: err });
      }
      return false;
    }
  }

  #put(lease: Lease): Promise<Lease> {
    return this.#o.client.request<Lease>("PUT", this.#path(), lease);
  }

  #collection(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.#o.namespace}/leases`;
  }

  #path(): string {
    return `${this.#collection()}/${this.#o.name}`;
  }
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
