import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentLog } from "../logger.js";
import { FakeKube } from "../testing/fake-kube.js";
import { RecordingLog } from "../testing/recording-log.js";
import { LeaderElector, microTime, type Lease } from "./leader-election.js";

const LEASES = "/apis/coordination.k8s.io/v1/namespaces/beyla/leases";

function elector(kube: FakeKube, identity: string, clock: { now: number }) {
  return new LeaderElector({
    client: kube,
    namespace: "beyla",
    name: "op",
    identity,
    leaseDurationMs: 3000,
    renewDeadlineMs: 2000,
    retryPeriodMs: 10,
    log: silentLog,
    now: () => clock.now,
  });
}

const holder = (kube: FakeKube) =>
  (kube.get(LEASES, "op") as Lease | undefined)?.spec?.holderIdentity;

describe("LeaderElector", () => {
  it("writes MicroTime with six fractional digits", () => {
    assert.equal(microTime(Date.UTC(2025, 0, 2, 3, 4, 5, 678)), "2025-01-02T03:04:05.678000Z");
  });

  it("creates the Lease, renews it, keeps annotations and releases it on stop", async () => {
    const kube = new FakeKube();
    const clock = { now: 1_000_000 };
    const a = elector(kube, "a", clock);
    assert.equal(await a.acquire(() => undefined), true);
    assert.equal(holder(kube), "a");
    a.setAnnotations({ "beyla.io/selector-set-version": "4" });
    const deadline = Date.now() + 2000;
    while (
      (kube.get(LEASES, "op") as Lease).metadata.annotations?.["beyla.io/selector-set-version"] !==
      "4"
    ) {
      assert.ok(Date.now() < deadline, "annotations written");
      await new Promise((r) => setTimeout(r, 5));
    }
    await a.stop();
    const released = kube.get(LEASES, "op") as Lease;
    assert.equal(released.spec?.holderIdentity, null);
    assert.equal(released.metadata.annotations?.["beyla.io/selector-set-version"], "4");
    // A new candidate takes a released Lease at once and sees what was kept.
    const b = elector(kube, "b", clock);
    assert.equal(await b.acquire(() => undefined), true);
    assert.equal(b.acquiredAnnotations["beyla.io/selector-set-version"], "4");
    assert.equal((kube.get(LEASES, "op") as Lease).spec?.leaseTransitions, 1);
    await b.stop();
  });

  it("says, without a warning, that a Lease removed before it stopped was not released", async () => {
    const kube = new FakeKube();
    const log = new RecordingLog();
    const a = new LeaderElector({
      client: kube,
      namespace: "beyla",
      name: "op",
      identity: "a",
      leaseDurationMs: 3000,
      renewDeadlineMs: 2000,
      retryPeriodMs: 10_000,
      log,
      now: () => 1_000_000,
    });
    assert.equal(await a.acquire(() => undefined), true);
    kube.remove(LEASES, "op"); // helm uninstall got there first
    await a.stop();
    assert.deepEqual(log.messages("warn"), []);
    assert.ok(
      log
        .messages("info")
        .includes("leader election: the lease or the right to update it is gone; not released"),
    );
  });

  it("waits while another holder renews, and takes over once it stops renewing", async () => {
    const kube = new FakeKube();
    const clock = { now: 1_000_000 };
    const a = elector(kube, "a", clock);
    await a.acquire(() => undefined);
    const b = elector(kube, "b", clock);
    let bLeads = false;
    void b.acquire(() => undefined).then((ok) => (bLeads = ok));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(bLeads, false);
    // a stops renewing without releasing (crash); b sees the same record for a whole lease duration.
    const aLost = a.stop.bind(a);
    kube.failures.push({
      match: (c) => c.method === "PUT" && JSON.stringify(c.body).includes('"holderIdentity":null'),
      error: new Error("crash"),
      times: 1,
    });
    await aLost();
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(bLeads, false);
    clock.now += 3001;
    const deadline = Date.now() + 2000;
    while (!bLeads) {
      assert.ok(Date.now() < deadline, "b takes over");
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(holder(kube), "b");
    await b.stop();
  });

  it("steps down when it cannot renew within the deadline", async () => {
    const kube = new FakeKube();
    const clock = { now: 1_000_000 };
    const a = elector(kube, "a", clock);
    let lost = false;
    await a.acquire(() => (lost = true));
    kube.failures.push({
      match: (c) => c.method === "GET",
      error: new Error("API server down"),
      times: 1000,
    });
    clock.now += 2500;
    const deadline = Date.now() + 2000;
    while (!lost) {
      assert.ok(Date.now() < deadline, "lost the lease");
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(a.isLeader, false);
    await a.stop();
  });
});
