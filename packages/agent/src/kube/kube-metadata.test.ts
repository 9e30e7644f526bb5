import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CgroupContainer } from "./cgroup.js";
import { KubeMetadata, type PodIndex } from "./kube-metadata.js";
import type { CachedPod } from "./pod-informer.js";

const APP = "a".repeat(64);
const SIDE = "b".repeat(64);
const UID = "8d1f0a4e-5b6c-4d7e-8f90-a1b2c3d4e5f6";

const POD: CachedPod = {
  uid: UID,
  name: "checkout-7d4b9c8f6-x2x9k",
  namespace: "shop",
  resourceVersion: "1",
  labels: { app: "checkout" },
  annotations: { team: "payments" },
  ownerReferences: [{ kind: "ReplicaSet", name: "checkout-7d4b9c8f6", controller: true }],
  startTime: "2024-05-01T10:00:00Z",
  podIP: "10.1.2.3",
  nodeName: "node-1",
  containers: [
    { id: APP, name: "app", kind: "container" },
    { id: SIDE, name: "envoy", kind: "container" },
  ],
  owners: {
    replicaSetName: "checkout-7d4b9c8f6",
    deploymentName: "checkout",
    ownerName: "checkout",
    ownerKind: "Deployment",
  },
};

/** A one-pod index and a fake /proc: pid -> container. */
function setup(containers: Record<number, CgroupContainer>, clusterName?: string) {
  const pods: PodIndex = {
    byContainerId: (id) => {
      const c = POD.containers.find((x) => x.id === id);
      return c ? { pod: POD, containerName: c.name } : undefined;
    },
    byPodUid: (uid) => (uid === UID ? POD : undefined),
  };
  return new KubeMetadata({
    pods,
    nodeName: "node-1",
    clusterName,
    readContainer: async (pid) => containers[pid],
  });
}

describe("KubeMetadata", () => {
  it("finds the pod, container and owners of a pid", async () => {
    const kube = setup({ 42: { containerId: SIDE, podUid: UID } }, "prod-eu-1");
    const got = await kube.lookup(42);
    assert.deepEqual(got, {
      info: {
        namespace: "shop",
        podName: "checkout-7d4b9c8f6-x2x9k",
        podLabels: { app: "checkout" },
        podAnnotations: { team: "payments" },
        deploymentName: "checkout",
        replicaSetName: "checkout-7d4b9c8f6",
        ownerName: "checkout",
      },
      attributes: {
        "k8s.namespace.name": "shop",
        "k8s.pod.name": "checkout-7d4b9c8f6-x2x9k",
        "k8s.container.name": "envoy",
        "k8s.deployment.name": "checkout",
        "k8s.replicaset.name": "checkout-7d4b9c8f6",
        "k8s.owner.name": "checkout",
        "k8s.node.name": "node-1",
        "k8s.cluster.name": "prod-eu-1",
        "k8s.pod.uid": UID,
        "k8s.pod.start_time": "2024-05-01T10:00:00Z",
      },
      containerName: "envoy",
    });
  });
  it("falls back to the cgroup's pod UID while the container is not in the pod status", async () => {
    const kube = setup({ 7: { containerId: "c".repeat(64), podUid: UID } });
    const got = await kube.lookup(7);
    assert.equal(got?.info.podName, "checkout-7d4b9c8f6-x2x9k");
    assert.equal(got?.containerName, undefined);
    assert.equal(got?.attributes["k8s.container.name"], undefined);
    assert.equal(got?.attributes["k8s.cluster.name"], undefined, "unknown cluster: no attribute");
  });
  it("knows nothing of host processes and of other nodes' containers", async () => {
    const kube = setup({ 8: { containerId: "d".repeat(64) } });
    assert.equal(await kube.lookup(1), undefined);
    assert.equal(await kube.lookup(8), undefined);
  });
  it("tells its listeners about pod changes", () => {
    const kube = setup({});
    const seen: string[] = [];
    kube.onPodChange((pod, change) => seen.push(`${change} ${pod.name}`));
    kube.podChanged(POD, "updated");
    assert.deepEqual(seen, ["updated checkout-7d4b9c8f6-x2x9k"]);
  });
});
