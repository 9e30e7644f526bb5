/**
 * A cache of the pods of one node, kept up to date by list + watch with the field selector
 * `spec.nodeName=<node>` (the API server filters, so each agent holds and receives only its
 * own node's pods), indexed by pod UID and by container ID.
 *
 * The loop never stops by itself: a failed list or watch is retried with backoff, a watch
 * that ends is resumed from the last resourceVersion, "410 Gone" (or any ERROR event) forces
 * a relist, and a watchdog aborts a watch that stays silent past its server-side timeout (a
 * dead connection the client would otherwise wait on forever: @kubernetes/client-node 1.4's
 * Watch sets no client-side timeout) and relists.
 */
import type { PodOwners } from "./owners.js";
import { type PodMeta, toPodMeta } from "./pod-meta.js";

/** One page of a pod list. */
export interface PodListPage {
  items: unknown[];
  resourceVersion: string;
  /** Set when more pages follow. */
  continueToken?: string;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchRequest {
  fieldSelector: string;
  resourceVersion: string;
  timeoutSeconds: number;
  onEvent(type: WatchEventType, object: unknown): void;
  /** Called once when the watch ends: normally (undefined) or with an error. */
  onDone(error?: Error): void;
}

/** The two API calls the informer makes; a client-node adapter in production, fakes in tests. */
export interface PodApi {
  listPods(fieldSelector: string, continueToken: string | undefined): Promise<PodListPage>;
  /** Starts a watch; the returned function aborts it. */
  watchPods(request: WatchRequest): Promise<() => void>;
}

/** A cached pod with its resolved owners. */
export interface CachedPod extends PodMeta {
  owners: PodOwners;
}

export type PodChange = "added" | "updated" | "deleted";

export interface PodInformerOptions {
  nodeName: string;
  api: PodApi;
  /** Resolves the owners of a pod before it enters the cache; never rejects. */
  resolveOwners?: (pod: PodMeta) => Promise<PodOwners>;
  /** Server-side timeout of each watch request. */
  watchTimeoutSeconds?: number;
  /** A watch silent for this long (no event, no end) is aborted and the pods relisted. */
  watchdogMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Most pods kept (a node runs ~110 by default); more are counted and dropped. */
  maxPods?: number;
  onChange?: (pod: CachedPod, change: PodChange) => void;
  /** A list or watch failed; the informer retries by itself. */
  onError?: (error: Error) => void;
}

export interface PodInformerStats {
  lists: number;
  watches: number;
  events: number;
  errors: number;
  watchdogRelists: number;
  droppedPods: number;
}

const DEFAULT_WATCH_TIMEOUT_S = 300;
/** A watch that ends sooner than this without any event is retried with backoff. */
const MIN_HEALTHY_WATCH_MS = 5000;

export class PodInformer {
  private readonly byUid = new Map<string, CachedPod>();
  private readonly byContainer = new Map<string, { pod: CachedPod; containerName: string }>();
  private readonly fieldSelector: string;
  private readonly opts: PodInformerOptions;
  private readonly watchTimeoutSeconds: number;
  private readonly watchdogMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly maxPods: number;
  private resourceVersion = "";
  private stopped = true;
  private abortWatch: (() => void) | undefined;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private syncedResolve: (() => void) | undefined;
  /** Resolves after the first complete list. */
  readonly synced: Promise<void>;
  readonly stats: PodInformerStats = {
    lists: 0,
    watches: 0,
    events: 0,
    errors: 0,
    watchdogRelists: 0,
    droppedPods: 0,
  };

  constructor(options: PodInformerOptions) {
    this.opts = options;
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT_S;
    this.watchdogMs = options.watchdogMs ?? this.watchTimeoutSeconds * 1000 + 30_000;
    this.backoffInitialMs = options.backoffInitialMs ?? 500;
    this.backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.maxPods = options.maxPods ?? 4096;
    this.fieldSelector = `spec.nodeName=${options.nodeName}`;
    this.synced = new Promise((resolve) => (this.syncedResolve = resolve));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /**
   * Stops the loop and aborts the watch; the cache keeps its content. Waits at most
   * `graceMs` for a list call in flight (it is dropped when it lands).
   */
  async stop(graceMs = 1000): Promise<void> {
    this.stopped = true;
    this.abortWatch?.();
    this.wakeUp?.();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }

  /** The pod running container `containerId` (64 hex) and that container's name. */
  byContainerId(containerId: string): { pod: CachedPod; containerName: string } | undefined {
    return this.byContainer.get(containerId);
  }

  byPodUid(uid: string): CachedPod | undefined {
    return this.byUid.get(uid);
  }

  pods(): CachedPod[] {
    return [...this.byUid.values()];
  }

  private async run(): Promise<void> {
    let backoff = this.backoffInitialMs;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === "") await this.relist();
        if (this.stopped) break;
        const startedMs = Date.now();
        const progressed = await this.watchOnce();
        if (progressed || Date.now() - startedMs >= MIN_HEALTHY_WATCH_MS) {
          backoff = this.backoffInitialMs;
        } else if (!this.stopped) {
          // ended at once with nothing in it: do not hammer the server
          await this.sleep(backoff);
          backoff = Math.min(backoff * 2, this.backoffMaxMs);
        }
      } catch (e) {
        if (this.stopped) break;
        this.stats.errors++;
        this.resourceVersion = ""; // the next round starts from a fresh list
        this.report(e);
        await this.sleep(backoff + Math.random() * backoff * 0.2);
        backoff = Math.min(backoff * 2, this.backoffMaxMs);
      }
    }
  }

  /** Lists every page, then replaces the cache with the result. */
  private async relist(): Promise<void> {
    const items: unknown[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string;
    do {
      const page = await this.opts.api.listPods(this.fieldSelector, continueToken);
      items.push(...page.items);
      continueToken = page.continueToken || undefined;
      resourceVersion = page.resourceVersion;
    } while (continueToken !== undefined && !this.stopped);
    if (this.stopped) return;
    this.stats.lists++;
    const seen = new Set<string>();
    for (const raw of items) {
      const meta = toPodMeta(raw);
      if (!meta) continue;
      seen.add(meta.uid);
      await this.upsert(meta);
    }
    for (const pod of [...this.byUid.values()]) {
      if (!seen.has(pod.uid)) this.remove(pod.uid);
    }
    this.resourceVersion = resourceVersion;
    this.syncedResolve?.();
  }

  /**
   * One watch from the current resourceVersion; resolves when it ends. True when it
   * delivered at least one event (the connection is healthy: the backoff resets).
   */
  private async watchOnce(): Promise<boolean> {
    this.stats.watches++;
    let events = 0;
    let queue = Promise.resolve();
    let watchdog: NodeJS.Timeout | undefined;
    const ended = new Promise<Error | undefined>((resolve) => {
      let done = false;
      const finish = (error?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(watchdog);
        resolve(error);
      };
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          this.stats.watchdogRelists++;
          this.resourceVersion = "";
          finish(); // first: the abort below ends the watch with an error
          this.abortWatch?.();
        }, this.watchdogMs);
        watchdog.unref();
      };
      arm();
      this.opts.api
        .watchPods({
          fieldSelector: this.fieldSelector,
          resourceVersion: this.resourceVersion,
          timeoutSeconds: this.watchTimeoutSeconds,
          onEvent: (type, object) => {
            if (done) return;
            events++;
            this.stats.events++;
            arm();
            queue = queue.then(() => this.apply(type, object, finish));
          },
          onDone: (error) => finish(error),
        })
        .then(
          (abort) => {
            this.abortWatch = abort;
            if (done || this.stopped) abort();
          },
          (error: unknown) => finish(asError(error)),
        );
    });
    const error = await ended;
    this.abortWatch?.();
    this.abortWatch = undefined;
    await queue;
    if (error && !this.stopped) throw new Error("watch pods", { cause: error });
    return events > 0;
  }

  private async apply(
    type: WatchEventType,
    object: unknown,
    finish: (error?: Error) => void,
  ): Promise<void> {
    if (type === "ERROR") {
      // 410 Gone (resourceVersion too old) or another failure the server reports in-band:
      // start over from a list.
      this.resourceVersion = "";
      const status = object as { code?: number; message?: string } | undefined;
      if (status?.code !== 410) {
        this.report(new Error(`watch pods: server error ${status?.code}: ${status?.message}`));
      }
      finish(); // first: the abort below ends the watch with an error
      this.abortWatch?.();
      return;
    }
    const rv = (object as { metadata?: { resourceVersion?: string } } | undefined)?.metadata
      ?.resourceVersion;
    if (type !== "BOOKMARK") {
      const meta = toPodMeta(object);
      if (meta) {
        if (type === "DELETED") this.remove(meta.uid);
        else await this.upsert(meta);
      }
    }
    if (rv && this.resourceVersion !== "") this.resourceVersion = rv;
  }

  private async upsert(meta: PodMeta): Promise<void> {
    const previous = this.byUid.get(meta.uid);
    if (previous && previous.resourceVersion === meta.resourceVersion) return;
    if (!previous && this.byUid.size >= this.maxPods) {
      this.stats.droppedPods++;
      return;
    }
    const owners = this.opts.resolveOwners ? await this.opts.resolveOwners(meta) : {};
    const pod: CachedPod = { ...meta, owners };
    if (previous) this.unindex(previous);
    this.byUid.set(pod.uid, pod);
    for (const c of pod.containers) this.byContainer.set(c.id, { pod, containerName: c.name });
    this.notify(pod, previous ? "updated" : "added");
  }

  private remove(uid: string): void {
    const pod = this.byUid.get(uid);
    if (!pod) return;
    this.unindex(pod);
    this.byUid.delete(uid);
    this.notify(pod, "deleted");
  }

  private unindex(pod: CachedPod): void {
    for (const c of pod.containers) {
      if (this.byContainer.get(c.id)?.pod.uid === pod.uid) this.byContainer.delete(c.id);
    }
  }

  private notify(pod: CachedPod, change: PodChange): void {
    try {
      this.opts.onChange?.(pod, change);
    } catch (e) {
      this.report(e);
    }
  }

  private report(e: unknown): void {
    try {
      this.opts.onError?.(asError(e));
    } catch {
      // a failing error handler must not stop the loop
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      timer.unref();
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
    });
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
