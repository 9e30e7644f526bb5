/**
 * The owners of a pod: its controller (ReplicaSet, StatefulSet, DaemonSet, Job, ...) and,
 * for a ReplicaSet or a Job, the controller above it (Deployment, CronJob).
 */
import { controllerOf, type OwnerRef, type PodMeta } from "./pod-meta.js";

export interface PodOwners {
  replicaSetName?: string;
  deploymentName?: string;
  statefulSetName?: string;
  daemonSetName?: string;
  jobName?: string;
  cronJobName?: string;
  /** The top-level owner: the Deployment, CronJob, StatefulSet, ... (absent for a bare pod). */
  ownerName?: string;
  ownerKind?: string;
}

/** The kinds whose own controller is looked up. */
export type ParentKind = "ReplicaSet" | "Job";

/**
 * Reads the controller of a ReplicaSet or a Job from the API. Resolves to null when the
 * object has no owner; rejects when it cannot be read (not found, forbidden, timeout).
 */
export type ParentLookup = (
  kind: ParentKind,
  namespace: string,
  name: string,
) => Promise<OwnerRef | null>;

export interface OwnerResolverOptions {
  /** Most ReplicaSets/Jobs whose controller is remembered. */
  maxEntries: number;
  /** How long a failed lookup is not retried (the name heuristic is used meanwhile). */
  failureTtlMs: number;
  now?: () => number;
  /** A lookup failed ("ReplicaSet/<ns>/<name>"); called once per retry period. */
  onFailure?: (object: string, error: unknown) => void;
}

const DEFAULTS: OwnerResolverOptions = { maxEntries: 4096, failureTtlMs: 60_000 };

interface CacheEntry {
  parent: OwnerRef | null | "unknown";
  expiresMs: number;
}

/**
 * Resolves the owners of pods. The controller of a ReplicaSet or Job is read once from the
 * API and remembered (bounded, least recently used evicted); when it cannot be read, a
 * ReplicaSet named `<deployment>-<hash>` is taken to belong to Deployment `<deployment>`.
 */
export class OwnerResolver {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<OwnerRef | null | "unknown">>();
  private readonly options: OwnerResolverOptions;
  /** Lookups that failed (each failure counted once per retry period). */
  failures = 0;
  evictions = 0;

  constructor(
    private readonly lookup: ParentLookup | undefined,
    options: Partial<OwnerResolverOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  async resolve(pod: Pick<PodMeta, "namespace" | "ownerReferences">): Promise<PodOwners> {
    const ref = controllerOf(pod.ownerReferences);
    if (!ref) return {};
    switch (ref.kind) {
      case "ReplicaSet": {
        const parent = await this.parentOf("ReplicaSet", pod.namespace, ref.name);
        const deploymentName =
          parent === "unknown"
            ? deploymentFromReplicaSetName(ref.name)
            : parent?.kind === "Deployment"
              ? parent.name
              : undefined;
        if (deploymentName !== undefined) {
          return {
            replicaSetName: ref.name,
            deploymentName,
            ownerName: deploymentName,
            ownerKind: "Deployment",
          };
        }
        return withTop({ replicaSetName: ref.name }, parent, ref);
      }
      case "Job": {
        const parent = await this.parentOf("Job", pod.namespace, ref.name);
        if (parent !== "unknown" && parent?.kind === "CronJob") {
          return {
            jobName: ref.name,
            cronJobName: parent.name,
            ownerName: parent.name,
            ownerKind: "CronJob",
          };
        }
        return withTop({ jobName: ref.name }, parent, ref);
      }
      case "StatefulSet":
        return { statefulSetName: ref.name, ownerName: ref.name, ownerKind: ref.kind };
      case "DaemonSet":
        return { daemonSetName: ref.name, ownerName: ref.name, ownerKind: ref.kind };
      default:
        return { ownerName: ref.name, ownerKind: ref.kind };
    }
  }

  private async parentOf(
    kind: ParentKind,
    namespace: string,
    name: string,
  ): Promise<OwnerRef | null | "unknown"> {
    if (!this.lookup) return "unknown";
    const key = `${kind}/${namespace}/${name}`;
    const now = (this.options.now ?? Date.now)();
    const hit = this.cache.get(key);
    if (hit && hit.expiresMs > now) {
      this.cache.delete(key); // re-insert: most recently used last
      this.cache.set(key, hit);
      return hit.parent;
    }
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.fetch(kind, namespace, name, key).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async fetch(
    kind: ParentKind,
    namespace: string,
    name: string,
    key: string,
  ): Promise<OwnerRef | null | "unknown"> {
    let parent: OwnerRef | null | "unknown";
    let ttl = Infinity;
    try {
      parent = await this.lookup!(kind, namespace, name);
    } catch (e) {
      this.failures++;
      this.options.onFailure?.(key, e);
      parent = "unknown";
      ttl = this.options.failureTtlMs;
    }
    this.remember(key, { parent, expiresMs: (this.options.now ?? Date.now)() + ttl });
    return parent;
  }

  private remember(key: string, entry: CacheEntry): void {
    this.cache.delete(key);
    while (this.cache.size >= this.options.maxEntries) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
      this.evictions++;
    }
    this.cache.set(key, entry);
  }
}

/** "checkout-7d4b9c8f6" -> "checkout"; undefined when there is no "-suffix". */
export function deploymentFromReplicaSetName(name: string): string | undefined {
  const dash = name.lastIndexOf("-");
  return dash > 0 && dash < name.length - 1 ? name.slice(0, dash) : undefined;
}

/** A ReplicaSet or Job that is the top owner itself, or whose controller is another kind. */
function withTop(owners: PodOwners, parent: OwnerRef | null | "unknown", ref: OwnerRef): PodOwners {
  if (parent !== null && parent !== "unknown") {
    return { ...owners, ownerName: parent.name, ownerKind: parent.kind };
  }
  return { ...owners, ownerName: ref.name, ownerKind: ref.kind };
}
