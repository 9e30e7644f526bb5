import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type CachedPod,
  type PodApi,
  type PodChange,
  PodInformer,
  type PodInformerOptions,
  type PodListPage,
  type WatchRequest,
} from "./pod-informer.js";

const id = (c: string) => c.repeat(64);

function rawPod(
  name: string,
  rv: string,
  containers: Record<string, string> = {},
  uid = `uid-${name}`,
) {
  return {
    metadata: {
      name,
      namespace: "shop",
      uid,
      resourceVersion: rv,
      ownerReferences: [{ kind: "StatefulSet", name: "db", controller: true }],
    },
    spec: { nodeName: "node-1" },
    status: {
      containerStatuses: Object.entries(containers).map(([n, cid]) => ({
        name: n,
        containerID: `containerd://${cid}`,
      })),
    },
  };
}

interface FakeWatch {
  request: WatchRequest;
  aborted: boolean;
}

/** An in-process API server double: scripted list answers, watches the test drives. */
class FakeApi implements PodApi {
  readonly listCalls: { fieldSelector: string; continueToken: string | undefined }[] = [];
  readonly watches: FakeWatch[] = [];
  /** Answers of the next list calls, in order; when empty, `current` in one page. */
  readonly listAnswers: (PodListPage | Error)[] = [];
  current: PodListPage = { items: [], resourceVersion: "1" };

  async listPods(fieldSelector: string, continueToken: string | undefined): Promise<PodListPage> {
    this.listCalls.push({ fieldSelector, continueToken });
    const next = this.listAnswers.shift() ?? this.current;
    if (next instanceof Error) throw next;
    return next;
  }

  async watchPods(request: WatchRequest): Promise<() => void> {
    const w: FakeWatch = { request, aborted: false };
    this.watches.push(w);
    return () => {
      if (w.aborted) return;
      w.aborted = true;
      request.onDone(new Error("aborted"));
    };
  }

  get watch(): FakeWatch {
    return this.watches[this.watches.length - 1]!;
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function setup(extra: Partial<PodInformerOptions> = {}) {
  const api = new FakeApi();
  const changes: string[] = [];
  const errors: Error[] = [];
  const informer = new PodInformer({
    nodeName: "node-1",
    api,
    backoffInitialMs: 5,
    backoffMaxMs: 20,
    onChange: (pod: CachedPod, change: PodChange) => changes.push(`${change} ${pod.name}`),
    onError: (e) => errors.push(e),
    ...extra,
  });
  return { api, informer, changes, errors };
}

describe("PodInformer", () => {
  // The informer's timers are unref()ed (they never keep the agent alive); this one keeps the
  // test process alive while a test awaits them.
  let keepAlive: NodeJS.Timeout;
  before(() => (keepAlive = setInterval(() => {}, 1000)));
  after(() => clearInterval(keepAlive));

  it("lists every page and watches with the node's field selector", async () => {
    const { api, informer, changes } = setup();
    api.listAnswers.push(
      { items: [rawPod("a", "10", { app: id("a") })], resourceVersion: "", continueToken: "p2" },
      { items: [rawPod("b", "11", { app: id("b"), side: id("c") })], resourceVersion: "12" },
    );
    informer.start();
    await informer.synced;
    await until("watch", () => api.watches.length === 1);
    assert.deepEqual(api.listCalls, [
      { fieldSelector: "spec.nodeName=node-1", continueToken: undefined },
      { fieldSelector: "spec.nodeName=node-1", continueToken: "p2" },
    ]);
    assert.equal(api.watch.request.fieldSelector, "spec.nodeName=node-1");
    assert.equal(api.watch.request.resourceVersion, "12");
    assert.equal(api.watch.request.timeoutSeconds, 300);
    assert.deepEqual(changes, ["added a", "added b"]);
    assert.equal(informer.byContainerId(id("c"))?.containerName, "side");
    assert.equal(informer.byContainerId(id("c"))?.pod.name, "b");
    assert.equal(informer.byPodUid("uid-a")?.name, "a");
    await informer.stop();
  });

  it("applies watch events in order and resumes a watch that ended from the last version", async () => {
    const { api, informer, changes } = setup();
    informer.start();
    await until("watch", () => api.watches.length === 1);
    const w = api.watch.request;
    w.onEvent("ADDED", rawPod("a", "2"));
    w.onEvent("MODIFIED", rawPod("a", "3", { app: id("a") }));
    w.onEvent("MODIFIED", rawPod("a", "3", { app: id("a") })); // same version: no change
    w.onEvent("BOOKMARK", { kind: "Pod", metadata: { resourceVersion: "5" } });
    await until("pod indexed", () => informer.byContainerId(id("a")) !== undefined);
    w.onEvent("MODIFIED", rawPod("a", "6", { app: id("d") })); // container restarted
    w.onEvent("DELETED", rawPod("x", "7")); // unknown pod: nothing happens
    await until("restart indexed", () => informer.byContainerId(id("d")) !== undefined);
    assert.equal(informer.byContainerId(id("a")), undefined);
    w.onDone(); // the server closed the watch (timeoutSeconds)
    await until("second watch", () => api.watches.length === 2);
    assert.equal(api.watch.request.resourceVersion, "7");
    assert.equal(api.listCalls.length, 1, "no relist after a normal end");
    api.watch.request.onEvent("DELETED", rawPod("a", "8", { app: id("d") }));
    await until("deleted", () => informer.pods().length === 0);
    assert.equal(informer.byContainerId(id("d")), undefined);
    assert.deepEqual(changes, ["added a", "updated a", "updated a", "deleted a"]);
    await informer.stop();
  });

  it("relists after 410 Gone and drops the pods that disappeared meanwhile", async () => {
    const { api, informer, changes, errors } = setup();
    api.current = { items: [rawPod("a", "2"), rawPod("b", "3")], resourceVersion: "3" };
    informer.start();
    await until("watch", () => api.watches.length === 1);
    api.current = { items: [rawPod("b", "3"), rawPod("c", "9")], resourceVersion: "9" };
    api.watch.request.onEvent("ERROR", { kind: "Status", code: 410, reason: "Expired" });
    await until("rewatch", () => api.watches.length === 2);
    assert.equal(api.listCalls.length, 2);
    assert.equal(api.watches[0]!.aborted, true);
    assert.equal(api.watch.request.resourceVersion, "9");
    assert.deepEqual(
      informer
        .pods()
        .map((p) => p.name)
        .sort(),
      ["b", "c"],
    );
    assert.deepEqual(changes, ["added a", "added b", "added c", "deleted a"]);
    assert.deepEqual(errors, [], "410 is routine, not an error");
    await informer.stop();
  });

  it("retries a failing list with backoff and reports each failure", async () => {
    const { api, informer, errors } = setup();
    api.listAnswers.push(new Error("connection refused"), new Error("HTTP 403: forbidden"));
    api.current = { items: [rawPod("a", "2")], resourceVersion: "2" };
    informer.start();
    await informer.synced;
    assert.equal(api.listCalls.length, 3);
    assert.deepEqual(
      errors.map((e) => e.message),
      ["connection refused", "HTTP 403: forbidden"],
    );
    assert.equal(informer.stats.errors, 2);
    await informer.stop();
  });

  it("relists when a failed watch comes back", async () => {
    const { api, informer, errors } = setup();
    informer.start();
    await until("watch", () => api.watches.length === 1);
    api.watch.request.onDone(new Error("socket hang up"));
    await until("rewatch", () => api.watches.length === 2);
    assert.equal(api.listCalls.length, 2);
    assert.match(errors[0]!.message, /watch pods/);
    assert.equal((errors[0]!.cause as Error).message, "socket hang up");
    await informer.stop();
  });

  it("aborts a silent watch after watchdogMs and relists", async () => {
    const { api, informer } = setup({ watchdogMs: 30 });
    informer.start();
    await until("watch", () => api.watches.length === 1);
    await until("watchdog", () => api.watches.length === 2, 1000);
    assert.equal(api.watches[0]!.aborted, true);
    assert.equal(api.listCalls.length, 2);
    assert.equal(informer.stats.watchdogRelists, 1);
    await informer.stop();
  });

  it("keeps a watch that delivers events alive past watchdogMs", async () => {
    const { api, informer } = setup({ watchdogMs: 60 });
    informer.start();
    await until("watch", () => api.watches.length === 1);
    for (let i = 0; i < 6; i++) {
      api.watch.request.onEvent("BOOKMARK", { metadata: { resourceVersion: String(10 + i) } });
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(api.watches.length, 1);
    assert.equal(informer.stats.watchdogRelists, 0);
    await informer.stop();
  });

  it("resolves owners before a pod enters the cache", async () => {
    const { api, informer } = setup({
      resolveOwners: async (pod) => {
        await new Promise((r) => setTimeout(r, 5));
        return { statefulSetName: pod.ownerReferences[0]!.name, ownerName: "db" };
      },
    });
    api.current = { items: [rawPod("a", "2", { app: id("a") })], resourceVersion: "2" };
    informer.start();
    await informer.synced;
    assert.deepEqual(informer.byContainerId(id("a"))?.pod.owners, {
      statefulSetName: "db",
      ownerName: "db",
    });
    await informer.stop();
  });

  it("holds at most maxPods and counts the others", async () => {
    const { api, informer } = setup({ maxPods: 2 });
    api.current = {
      items: [rawPod("a", "1"), rawPod("b", "2"), rawPod("c", "3")],
      resourceVersion: "3",
    };
    informer.start();
    await informer.synced;
    assert.equal(informer.pods().length, 2);
    assert.equal(informer.stats.droppedPods, 1);
    await informer.stop();
  });

  it("stops: aborts the watch and makes no more calls", async () => {
    const { api, informer } = setup();
    informer.start();
    await until("watch", () => api.watches.length === 1);
    await informer.stop();
    assert.equal(api.watch.aborted, true);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(api.watches.length, 1);
    assert.equal(api.listCalls.length, 1);
  });

  it("stops without waiting long for a list call that hangs", async () => {
    const { api, informer } = setup();
    api.listPods = () => new Promise<PodListPage>(() => {});
    informer.start();
    const started = Date.now();
    await informer.stop(50);
    assert.ok(Date.now() - started < 500);
  });
});
