/**
 * A list-then-watch cache of one kind of object that keeps itself alive: a watch that ends is
 * resumed from the last resourceVersion, a 410 Gone (or any error) relists after a backoff,
 * and a watchdog relists when nothing (not even a bookmark) has arrived for a while, which
 * catches connections that died silently. Handlers see adds, updates and deletes, including
 * the differences a relist finds. Nothing here throws to the caller.
 */
import { backoffDelay, sleep, type BackoffOptions } from "../backoff.js";
import type { Log } from "../logger.js";
import type { KubeClient, WatchEventType } from "./rest.js";

export interface KubeObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
  };
}

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(obj: T, old: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T> {
  /** For logs: "beylainstrumentations". */
  name: string;
  client: KubeClient;
  /** Collection path, e.g. /apis/beyla.io/v1alpha1/beylainstrumentations. */
  path: string;
  labelSelector?: string;
  handlers: InformerHandlers<T>;
  log: Log;
  /** Relist when nothing arrived for this long. Default 5 min (bookmarks come every minute). */
  watchdogMs?: number;
  /** Server-side watch timeout, randomised up to twice this. Default 300 s. */
  watchTimeoutSeconds?: number;
  backoff?: BackoffOptions;
}

interface ListAnswer<T> {
  metadata?: { resourceVersion?: string };
  items?: T[];
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "";
  return ns === undefined || ns === "" ? name : `${ns}/${name}`;
}

export class Informer<T extends KubeObject> {
  readonly #options: InformerOptions<T>;
  readonly #cache = new Map<string, T>();
  readonly #stop = new AbortController();
  #resourceVersion = "";
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #lastEvent = 0;
  #failures = 0;
  /** Relists done (after the first list), for tests and logs. */
  relists = 0;

  constructor(options: InformerOptions<T>) {
    this.#options = options;
  }

  get synced(): boolean {
    return this.#synced;
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  list(): T[] {
    return [...this.#cache.values()];
  }

  /** Starts the loop in the background; resolves once the first list is in the cache. */
  start(): Promise<void> {
    void this.#loop();
    return this.waitForSync();
  }

  waitForSync(): Promise<void> {
    if (this.#synced || this.#stop.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  stop(): void {
    this.#stop.abort();
    for (const resolve of this.#syncWaiters) resolve();
    this.#syncWaiters = [];
  }

  async #loop(): Promise<void> {
    const signal = this.#stop.signal;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.#relist();
          needList = false;
        }
        needList = await this.#watchOnce();
        if (!needList) this.#failures = 0;
      } catch (err) {
        needList = true;
        this.#failures++;
        const delay = backoffDelay(
          this.#failures,
          this.#options.backoff ?? { baseMs: 500, maxMs: 30_000 },
        );
        this.#options.log.warn("informer: list/watch failed; retrying", {
          informer: this.#options.name,
          attempt: this.#failures,
          delayMs: delay,
          error: err,
        });
        await sleep(delay, signal);
      }
    }
  }

  async #relist(): Promise<void> {
    const query = new URLSearchParams();
    if (this.#options.labelSelector !== undefined) {
      query.set("labelSelector", this.#options.labelSelector);
    }
    const qs = query.size > 0 ? `?${query.toString()}` : "";
    const answer = await this.#options.client.request<ListAnswer<T>>(
      "GET",
      this.#options.path + qs,
    );
    const fresh = new Map<string, T>();
    for (const item of answer.items ?? []) fresh.set(objectKey(item), item);
    const handlers = this.#options.handlers;
    const old = new Map(this.#cache);
    this.#cache.clear();
    for (const [k, v] of fresh) this.#cache.set(k, v);
    this.#resourceVersion = answer.metadata?.resourceVersion ?? "";
    if (this.#synced) this.relists++;
    for (const [k, obj] of fresh) {
      const before = old.get(k);
      if (before === undefined) safely(() => handlers.add?.(obj), this.#options);
      else if (before.metadata?.resourceVersion !== obj.metadata?.resourceVersion) {
        safely(() => handlers.update?.(obj, before), this.#options);
      }
    }
    for (const [k, obj] of old) {
      if (!fresh.has(k)) safely(() => handlers.delete?.(obj), this.#options);
    }
    this.#lastEvent = Date.now();
    if (!this.#synced) {
      this.#synced = true;
      for (const resolve of this.#syncWaiters) resolve();
      this.#syncWaiters = [];
    }
  }

  /** One watch, until it ends; resolves true when a relist is needed. */
  #watchOnce(): Promise<boolean> {
    const options = this.#options;
    const timeout = options.watchTimeoutSeconds ?? 300;
    return new Promise<boolean>((resolve, reject) => {
      let finished = false;
      let gone = false;
      let handle: { abort(): void } | undefined;
      const watchdogMs = options.watchdogMs ?? 300_000;
      const finish = (err: unknown, relist: boolean): void => {
        if (finished) return;
        finished = true;
        clearInterval(watchdog);
        this.#stop.signal.removeEventListener("abort", onStop);
        handle?.abort();
        if (err !== undefined && err !== null) reject(err);
        else resolve(relist);
      };
      const onStop = (): void => finish(undefined, false);
      this.#stop.signal.addEventListener("abort", onStop, { once: true });
      const watchdog = setInterval(
        () => {
          if (Date.now() - this.#lastEvent < watchdogMs) return;
          options.log.warn("informer: nothing received for too long; relisting", {
            informer: options.name,
            silentMs: Date.now() - this.#lastEvent,
          });
          finish(undefined, true);
        },
        Math.min(watchdogMs, 10_000),
      );
      watchdog.unref();
      options.client
        .watch(
          options.path,
          {
            resourceVersion: this.#resourceVersion,
            allowWatchBookmarks: true,
            labelSelector: options.labelSelector,
            timeoutSeconds: Math.floor(timeout * (1 + Math.random())),
          },
          (type, object) => {
            if (finished) return;
            this.#lastEvent = Date.now();
            if (!this.#apply(type, object)) {
              gone = true;
              finish(undefined, true);
            }
          },
          (err) => finish(err, gone),
        )
        .then(
          (h) => {
            handle = h;
            if (finished) h.abort();
          },
          (err: unknown) => finish(err ?? new Error("watch failed"), true),
        );
    });
  }

  /** Applies one watch event; false when the watch must be replaced by a relist. */
  #apply(type: WatchEventType, object: unknown): boolean {
    if (type === "ERROR") {
      const status = object as { code?: number; message?: string };
      this.#options.log.info("informer: watch expired; relisting", {
        informer: this.#options.name,
        code: status.code ?? 0,
        message: status.message ?? "",
      });
      return false;
    }
    const obj = object as T;
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined) this.#resourceVersion = rv;
    if (type === "BOOKMARK") return true;
    const key = objectKey(obj);
    const handlers = this.#options.handlers;
    const before = this.#cache.get(key);
    if (type === "DELETED") {
      this.#cache.delete(key);
      safely(() => handlers.delete?.(before ?? obj), this.#options);
    } else {
      this.#cache.set(key, obj);
      if (before === undefined) safely(() => handlers.add?.(obj), this.#options);
      else safely(() => handlers.update?.(obj, before), this.#options);
    }
    return true;
  }
}

function safely(fn: () => void, options: { name: string; log: Log }): void {
  try {
    fn();
  } catch (err) {
    options.log.error("informer: handler failed", { informer: options.name, error: err });
  }
}
