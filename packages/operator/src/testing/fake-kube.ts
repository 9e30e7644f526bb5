/**
 * An in-memory stand-in for the few API server calls the operator makes, for unit tests:
 * collections with resourceVersions, list and watch (events pushed by the test or by writes),
 * optimistic concurrency on PUT, merge-patch of status, and injectable failures.
 */
import {
  KubeApiError,
  type KubeClient,
  type WatchEventType,
  type WatchHandle,
} from "../kube/rest.js";

interface Obj {
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface Watcher {
  collection: string;
  onEvent: (type: WatchEventType, object: unknown) => void;
  done: (err?: unknown) => void;
  closed: boolean;
}

export interface Call {
  method: string;
  path: string;
  body?: unknown;
}

export class FakeKube implements KubeClient {
  readonly calls: Call[] = [];
  /** collection path -> name -> object */
  readonly #store = new Map<string, Map<string, Obj>>();
  readonly #watchers: Watcher[] = [];
  #rv = 1;
  /** Makes the next calls matching the predicate fail with this error. */
  failures: { match: (c: Call) => boolean; error: Error; times: number }[] = [];

  /** Puts an object (as if created by someone else) and notifies watchers. */
  put(collection: string, obj: Obj): Obj {
    const items = this.#items(collection);
    const existed = items.has(obj.metadata.name);
    const stored = this.#stamp(obj);
    items.set(obj.metadata.name, stored);
    this.#notify(collection, existed ? "MODIFIED" : "ADDED", stored);
    return stored;
  }

  remove(collection: string, name: string): void {
    const items = this.#items(collection);
    const obj = items.get(name);
    if (obj === undefined) return;
    items.delete(name);
    this.#notify(collection, "DELETED", this.#stamp(obj));
  }

  get(collection: string, name: string): Obj | undefined {
    return this.#items(collection).get(name);
  }

  /** Ends every open watch on a collection (as a server-side timeout would). */
  closeWatches(collection: string, err?: unknown): void {
    for (const w of this.#watchers) {
      if (w.collection === collection && !w.closed) {
        w.closed = true;
        w.done(err);
      }
    }
  }

  /** Sends an event to open watches without changing the store. */
  emit(collection: string, type: WatchEventType, object: unknown): void {
    for (const w of this.#watchers)
      if (w.collection === collection && !w.closed) w.onEvent(type, object);
  }

  openWatches(collection: string): number {
    return this.#watchers.filter((w) => w.collection === collection && !w.closed).length;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const call: Call = { method, path, body };
    this.calls.push(call);
    const failure = this.failures.find((f) => f.times > 0 && f.match(call));
    if (failure !== undefined) {
      failure.times--;
      throw failure.error;
    }
    const [pathOnly = ""] = path.split("?");
    if (method === "POST" && pathOnly.endsWith("/tokenreviews")) {
      return { status: { authenticated: false } } as T;
    }
    const { collection, name, sub } = this.#parse(pathOnly);
    const items = this.#items(collection);
    if (method === "GET" && name === undefined) {
      const selector = new URLSearchParams(path.split("?")[1] ?? "").get("labelSelector");
      const all: Obj[] = [];
      for (const [c, objs] of this.#store) {
        if (c === collection || clusterWide(c) === collection) all.push(...objs.values());
      }
      return {
        metadata: { resourceVersion: String(this.#rv) },
        items: all.filter((o) => matchesSelector(o, selector)),
      } as T;
    }
    if (method === "POST") {
      const obj = body as Obj;
      if (items.has(obj.metadata.name)) throw new KubeApiError(409, "AlreadyExists", "exists");
      return this.put(collection, obj) as T;
    }
    const current = name === undefined ? undefined : items.get(name);
    if (current === undefined) throw new KubeApiError(404, "NotFound", `${path} not found`);
    if (method === "GET") return current as T;
    if (method === "PUT") {
      const obj = body as Obj;
      if (obj.metadata.resourceVersion !== current.metadata.resourceVersion) {
        throw new KubeApiError(409, "Conflict", "the object has been modified");
      }
      return this.put(collection, obj) as T;
    }
    if (method === "PATCH" && sub === "status") {
      // A JSON patch replacing /status, or a merge patch of { status }.
      if (Array.isArray(body)) {
        const ops = body as { op: string; path: string; value: unknown }[];
        const op = ops[0];
        if (ops.length !== 1 || op?.path !== "/status" || !["add", "replace"].includes(op.op)) {
          throw new Error(`fake: JSON patch ${JSON.stringify(body)} not supported`);
        }
        return this.put(collection, { ...current, status: op.value }) as T;
      }
      const patch = body as { status: Record<string, unknown> };
      const merged = { ...(current["status"] as object), ...patch.status };
      return this.put(collection, { ...current, status: merged }) as T;
    }
    throw new Error(`fake: ${method} ${path} not supported`);
  }

  async watch(
    path: string,
    _query: Record<string, string | number | boolean | undefined>,
    onEvent: (type: WatchEventType, object: unknown) => void,
    done: (err?: unknown) => void,
  ): Promise<WatchHandle> {
    const w: Watcher = { collection: path, onEvent, done, closed: false };
    this.#watchers.push(w);
    return { abort: () => (w.closed = true) };
  }

  #items(collection: string): Map<string, Obj> {
    let items = this.#store.get(collection);
    if (items === undefined) {
      items = new Map();
      this.#store.set(collection, items);
    }
    return items;
  }

  #stamp(obj: Obj): Obj {
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.#rv) } };
  }

  #notify(collection: string, type: WatchEventType, obj: Obj): void {
    // Watches on the cluster-wide path see namespaced objects too.
    for (const w of this.#watchers) {
      if (w.closed) continue;
      if (w.collection === collection || clusterWide(collection) === w.collection)
        w.onEvent(type, obj);
    }
  }

  /** `/apis/g/v/namespaces/ns/plural/name/status` -> collection, name, sub. */
  #parse(path: string): { collection: string; name?: string; sub?: string } {
    const parts = path.split("/");
    const nsAt = parts.indexOf("namespaces");
    const pluralAt = nsAt >= 0 ? nsAt + 2 : parts.length - 1;
    const collection = parts.slice(0, pluralAt + 1).join("/");
    return { collection, name: parts[pluralAt + 1], sub: parts[pluralAt + 2] };
  }
}

/** The cluster-wide collection of a namespaced one. */
function clusterWide(collection: string): string {
  return collection.replace(/\/namespaces\/[^/]+/, "");
}

function matchesSelector(obj: Obj, selector: string | null): boolean {
  if (selector === null || selector === "") return true;
  const labels = (obj.metadata["labels"] ?? {}) as Record<string, string>;
  return selector.split(",").every((term) => {
    const [k = "", v] = term.split("=");
    return labels[k] === v;
  });
}
