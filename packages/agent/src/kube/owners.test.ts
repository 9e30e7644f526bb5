import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deploymentFromReplicaSetName, OwnerResolver, type ParentLookup } from "./owners.js";
import type { OwnerRef } from "./pod-meta.js";

const ref = (kind: string, name: string): OwnerRef => ({ kind, name, controller: true });
const pod = (...owners: OwnerRef[]) => ({ namespace: "shop", ownerReferences: owners });

/** A fake API: the controllers of some ReplicaSets and Jobs; anything else is not found. */
function fakeApi(objects: Record<string, OwnerRef | null>): ParentLookup & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (kind: string, namespace: string, name: string) => {
    const key = `${kind}/${namespace}/${name}`;
    calls.push(key);
    if (!(key in objects)) throw new Error(`${key} not found`);
    return objects[key]!;
  };
  return Object.assign(lookup, { calls });
}

describe("OwnerResolver", () => {
  const api = fakeApi({
    "ReplicaSet/shop/checkout-7d4b9c8f6": ref("Deployment", "checkout"),
    "ReplicaSet/shop/web-rs-2": ref("Deployment", "web"),
    "ReplicaSet/shop/bare-rs": null,
    "ReplicaSet/shop/rollout-abc": ref("Rollout", "rollout"),
    "Job/shop/report-28519200": ref("CronJob", "report"),
    "Job/shop/migrate": null,
  });
  const resolver = new OwnerResolver(api);
  const cases: { name: string; owners: OwnerRef[]; want: object }[] = [
    { name: "a bare pod has no owner", owners: [], want: {} },
    {
      name: "ReplicaSet -> Deployment, by the ReplicaSet's ownerReferences",
      owners: [ref("ReplicaSet", "web-rs-2")],
      want: {
        replicaSetName: "web-rs-2",
        deploymentName: "web",
        ownerName: "web",
        ownerKind: "Deployment",
      },
    },
    {
      name: "a ReplicaSet without owner is the top owner",
      owners: [ref("ReplicaSet", "bare-rs")],
      want: { replicaSetName: "bare-rs", ownerName: "bare-rs", ownerKind: "ReplicaSet" },
    },
    {
      name: "a ReplicaSet owned by another kind (Argo Rollout)",
      owners: [ref("ReplicaSet", "rollout-abc")],
      want: { replicaSetName: "rollout-abc", ownerName: "rollout", ownerKind: "Rollout" },
    },
    {
      name: "a ReplicaSet that cannot be read: name minus the last -suffix",
      owners: [ref("ReplicaSet", "api-gateway-5f6d7c8b9")],
      want: {
        replicaSetName: "api-gateway-5f6d7c8b9",
        deploymentName: "api-gateway",
        ownerName: "api-gateway",
        ownerKind: "Deployment",
      },
    },
    {
      name: "Job -> CronJob",
      owners: [ref("Job", "report-28519200")],
      want: {
        jobName: "report-28519200",
        cronJobName: "report",
        ownerName: "report",
        ownerKind: "CronJob",
      },
    },
    {
      name: "a Job on its own",
      owners: [ref("Job", "migrate")],
      want: { jobName: "migrate", ownerName: "migrate", ownerKind: "Job" },
    },
    {
      name: "a Job that cannot be read stays the owner",
      owners: [ref("Job", "gone-1")],
      want: { jobName: "gone-1", ownerName: "gone-1", ownerKind: "Job" },
    },
    {
      name: "StatefulSet",
      owners: [ref("StatefulSet", "db")],
      want: { statefulSetName: "db", ownerName: "db", ownerKind: "StatefulSet" },
    },
    {
      name: "DaemonSet",
      owners: [ref("DaemonSet", "agent")],
      want: { daemonSetName: "agent", ownerName: "agent", ownerKind: "DaemonSet" },
    },
    {
      name: "a static pod is owned by its Node",
      owners: [ref("Node", "node-1")],
      want: { ownerName: "node-1", ownerKind: "Node" },
    },
    {
      name: "the controller wins over other owners",
      owners: [{ kind: "ConfigMap", name: "x", controller: false }, ref("StatefulSet", "db")],
      want: { statefulSetName: "db", ownerName: "db", ownerKind: "StatefulSet" },
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      assert.deepEqual(await resolver.resolve(pod(...c.owners)), c.want);
    });
  }

  it("reads each ReplicaSet once, also when asked concurrently", async () => {
    const fresh = fakeApi({ "ReplicaSet/shop/checkout-7d4b9c8f6": ref("Deployment", "checkout") });
    const r = new OwnerResolver(fresh);
    const p = pod(ref("ReplicaSet", "checkout-7d4b9c8f6"));
    await Promise.all([r.resolve(p), r.resolve(p), r.resolve(p)]);
    await r.resolve(p);
    assert.deepEqual(fresh.calls, ["ReplicaSet/shop/checkout-7d4b9c8f6"]);
  });

  it("retries a failed lookup after failureTtlMs, using the heuristic meanwhile", async () => {
    let now = 0;
    const objects: Record<string, OwnerRef | null> = {};
    const flaky = fakeApi(objects);
    const failed: string[] = [];
    const r = new OwnerResolver(flaky, {
      failureTtlMs: 1000,
      now: () => now,
      onFailure: (object) => failed.push(object),
    });
    const p = pod(ref("ReplicaSet", "shop-api-rs-1"));
    assert.equal((await r.resolve(p)).deploymentName, "shop-api-rs");
    objects["ReplicaSet/shop/shop-api-rs-1"] = ref("Deployment", "shop-api");
    now = 500;
    assert.equal((await r.resolve(p)).deploymentName, "shop-api-rs");
    now = 1001;
    assert.equal((await r.resolve(p)).deploymentName, "shop-api");
    assert.equal(flaky.calls.length, 2);
    assert.equal(r.failures, 1);
    assert.deepEqual(failed, ["ReplicaSet/shop/shop-api-rs-1"]);
  });

  it("keeps at most maxEntries, evicting the least recently used", async () => {
    const objects: Record<string, OwnerRef | null> = {};
    for (const n of ["a-1", "b-1", "c-1"])
      objects[`ReplicaSet/shop/${n}`] = ref("Deployment", n[0]!);
    const api2 = fakeApi(objects);
    const r = new OwnerResolver(api2, { maxEntries: 2 });
    await r.resolve(pod(ref("ReplicaSet", "a-1")));
    await r.resolve(pod(ref("ReplicaSet", "b-1")));
    await r.resolve(pod(ref("ReplicaSet", "a-1"))); // a is now the most recent
    await r.resolve(pod(ref("ReplicaSet", "c-1"))); // evicts b
    await r.resolve(pod(ref("ReplicaSet", "a-1")));
    await r.resolve(pod(ref("ReplicaSet", "b-1")));
    assert.deepEqual(api2.calls, [
      "ReplicaSet/shop/a-1",
      "ReplicaSet/shop/b-1",
      "ReplicaSet/shop/c-1",
      "ReplicaSet/shop/b-1",
    ]);
    assert.equal(r.evictions, 2);
  });

  it("uses the name heuristic when there is no API at all", async () => {
    const r = new OwnerResolver(undefined);
    assert.deepEqual(await r.resolve(pod(ref("ReplicaSet", "web-5d9f"))), {
      replicaSetName: "web-5d9f",
      deploymentName: "web",
      ownerName: "web",
      ownerKind: "Deployment",
    });
  });
});

describe("deploymentFromReplicaSetName", () => {
  it("drops the last -suffix only", () => {
    assert.equal(deploymentFromReplicaSetName("my-app-v2-7d4b9c8f6"), "my-app-v2");
    assert.equal(deploymentFromReplicaSetName("solo"), undefined);
    assert.equal(deploymentFromReplicaSetName("-x"), undefined);
    assert.equal(deploymentFromReplicaSetName("x-"), undefined);
  });
});
