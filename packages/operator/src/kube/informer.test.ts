import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentLog } from "../logger.js";
import { FakeKube } from "../testing/fake-kube.js";
import { Informer, type KubeObject } from "./informer.js";

const PODS = "/api/v1/namespaces/beyla/pods";
const pod = (name: string, app = "agent") => ({
  metadata: { name, namespace: "beyla", labels: { app } },
});

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function informer(kube: FakeKube, events: string[], watchdogMs = 60_000) {
  return new Informer<KubeObject>({
    name: "pods",
    client: kube,
    path: PODS,
    labelSelector: "app=agent",
    log: silentLog,
    watchdogMs,
    backoff: { baseMs: 5, maxMs: 5, jitter: 0 },
    handlers: {
      add: (o) => events.push(`add ${o.metadata?.name}`),
      update: (o) => events.push(`update ${o.metadata?.name}`),
      delete: (o) => events.push(`delete ${o.metadata?.name}`),
    },
  });
}

describe("Informer", () => {
  it("lists with the label selector, then follows the watch", async () => {
    const kube = new FakeKube();
    kube.put(PODS, pod("a"));
    kube.put(PODS, pod("other", "web"));
    const events: string[] = [];
    const inf = informer(kube, events);
    await inf.start();
    assert.deepEqual(events, ["add a"]);
    await until("the watch", () => kube.openWatches(PODS) === 1);
    kube.put(PODS, pod("b"));
    kube.put(PODS, { ...pod("a"), spec: { x: 1 } } as never);
    kube.remove(PODS, "b");
    assert.deepEqual(events, ["add a", "add b", "update a", "delete b"]);
    assert.deepEqual(
      inf.list().map((o) => o.metadata?.name),
      ["a"],
    );
    inf.stop();
  });

  it("resumes a watch the server closed, and relists after an error, reporting what changed", async () => {
    const kube = new FakeKube();
    kube.put(PODS, pod("a"));
    const events: string[] = [];
    const inf = informer(kube, events);
    await inf.start();
    await until("the watch", () => kube.openWatches(PODS) === 1);
    kube.closeWatches(PODS);
    await until("a new watch", () => kube.openWatches(PODS) === 1);
    assert.equal(inf.relists, 0);
    // Missed while no watch was open: seen by the relist after the error.
    kube.closeWatches(PODS, new Error("connection reset"));
    kube.remove(PODS, "a");
    kube.put(PODS, pod("c"));
    await until("the relist", () => inf.relists === 1 && kube.openWatches(PODS) === 1);
    assert.deepEqual(events, ["add a", "add c", "delete a"]);
    inf.stop();
  });

  it("relists on 410 Gone", async () => {
    const kube = new FakeKube();
    const events: string[] = [];
    const inf = informer(kube, events);
    await inf.start();
    await until("the watch", () => kube.openWatches(PODS) === 1);
    kube.emit(PODS, "ERROR", { kind: "Status", code: 410, message: "too old resource version" });
    await until("the relist", () => inf.relists === 1);
    inf.stop();
  });

  it("relists when the watch has been silent too long (watchdog)", async () => {
    const kube = new FakeKube();
    const inf = informer(kube, [], 30);
    await inf.start();
    await until("a watchdog relist", () => inf.relists >= 1);
    inf.stop();
  });

  it("retries a failing list with backoff", async () => {
    const kube = new FakeKube();
    kube.failures.push({ match: (c) => c.method === "GET", error: new Error("503"), times: 2 });
    const inf = informer(kube, []);
    // The informer's timers are unref'd: keep the test's event loop alive meanwhile.
    const keepAlive = setInterval(() => undefined, 1000);
    await inf.start();
    clearInterval(keepAlive);
    assert.equal(kube.calls.filter((c) => c.method === "GET").length, 3);
    inf.stop();
  });
});
