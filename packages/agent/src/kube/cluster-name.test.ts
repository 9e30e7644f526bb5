import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  aksClusterName,
  azureProbe,
  type CloudProbe,
  clusterNameFromKubeadm,
  clusterNameFromLabels,
  detectClusterName,
  eksProbe,
  type FetchLike,
  gceProbe,
} from "./cluster-name.js";

const KUBEADM = `apiServer:
  certSANs:
  - 10.0.0.1
apiVersion: kubeadm.k8s.io/v1beta3
clusterName: prod-eu-1
controlPlaneEndpoint: 10.0.0.1:6443
kind: ClusterConfiguration
kubernetesVersion: v1.30.2
networking:
  podSubnet: 10.244.0.0/16
`;

const never = () => new Promise<never>(() => {});

describe("detectClusterName", () => {
  it("takes the configured name first, asking nothing", async () => {
    const got = await detectClusterName({
      configured: " mine ",
      nodeLabels: () => assert.fail("must not be asked"),
    });
    assert.deepEqual(got, { name: "mine", source: "config" });
  });
  it("then node labels", async () => {
    const got = await detectClusterName({
      nodeLabels: async () => ({ "alpha.eksctl.io/cluster-name": "eks-prod" }),
      kubeadmClusterConfiguration: () => assert.fail("must not be asked"),
    });
    assert.deepEqual(got, { name: "eks-prod", source: "node label alpha.eksctl.io/cluster-name" });
  });
  it("then kubeadm's ClusterConfiguration", async () => {
    const got = await detectClusterName({
      nodeLabels: async () => ({ "kubernetes.io/hostname": "n1" }),
      kubeadmClusterConfiguration: async () => KUBEADM,
    });
    assert.deepEqual(got, { name: "prod-eu-1", source: "kubeadm-config" });
  });
  it("then the cloud, first answer in GCE, EKS, Azure order", async () => {
    const probe = (name: string, answer: string | undefined, delayMs: number): CloudProbe => ({
      name,
      probe: () => new Promise((r) => setTimeout(() => r(answer), delayMs)),
    });
    const got = await detectClusterName({
      nodeLabels: async () => undefined,
      kubeadmClusterConfiguration: async () => undefined,
      cloud: [probe("GCE", undefined, 1), probe("EKS", "eks-1", 20), probe("Azure", "aks-1", 1)],
    });
    assert.deepEqual(got, { name: "eks-1", source: "EKS metadata" });
  });
  it("skips sources that fail or hang, within their timeouts", async () => {
    const skipped: string[] = [];
    const started = Date.now();
    const got = await detectClusterName(
      {
        nodeLabels: () => Promise.reject(new Error("HTTP 403")),
        kubeadmClusterConfiguration: never,
        apiTimeoutMs: 50,
        cloud: [
          { name: "GCE", probe: (signal) => abortable(signal) },
          { name: "EKS", probe: () => Promise.reject(new Error("ECONNREFUSED")) },
        ],
        cloudTimeoutMs: 50,
      },
      skipped,
    );
    assert.equal(got, undefined);
    assert.ok(Date.now() - started < 1000);
    assert.deepEqual(skipped.slice(0, 2), ["node labels", "kubeadm-config (timeout)"]);
    assert.deepEqual(skipped.slice(2).sort(), ["EKS metadata", "GCE metadata"]); // as they end
  });
});

function abortable(signal: AbortSignal): Promise<string> {
  return new Promise((_, reject) =>
    signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }),
  );
}

describe("clusterNameFromLabels", () => {
  const cases: [string, Record<string, string>, string | undefined][] = [
    ["eksctl", { "alpha.eksctl.io/cluster-name": "a" }, "a"],
    ["Cluster API", { "cluster.x-k8s.io/cluster-name": "capi-1" }, "capi-1"],
    [
      "AKS node resource group",
      { "kubernetes.azure.com/cluster": "MC_rg-shop_aks-shop_westeurope" },
      "aks-shop",
    ],
    ["AKS custom resource group", { "kubernetes.azure.com/cluster": "nodes-shop" }, "nodes-shop"],
    [
      "eksctl wins over Cluster API",
      { "cluster.x-k8s.io/cluster-name": "b", "alpha.eksctl.io/cluster-name": "a" },
      "a",
    ],
    ["empty value", { "alpha.eksctl.io/cluster-name": " " }, undefined],
    ["none", { "kubernetes.io/os": "linux" }, undefined],
  ];
  for (const [name, labels, want] of cases) {
    it(name, () => assert.equal(clusterNameFromLabels(labels)?.name, want));
  }
});

describe("clusterNameFromKubeadm", () => {
  it("reads clusterName", () => assert.equal(clusterNameFromKubeadm(KUBEADM), "prod-eu-1"));
  it("tolerates a missing field or bad YAML", () => {
    assert.equal(clusterNameFromKubeadm("kind: ClusterConfiguration\n"), undefined);
    assert.equal(clusterNameFromKubeadm("clusterName: [\n"), undefined);
    assert.equal(clusterNameFromKubeadm(""), undefined);
  });
});

describe("aksClusterName", () => {
  it("takes the part before the location", () => {
    assert.equal(aksClusterName("MC_my_rg_my-aks_eastus"), "my-aks");
    assert.equal(aksClusterName("mc_rg_aks_westeurope"), "aks");
    assert.equal(aksClusterName("custom-nodes"), "custom-nodes");
  });
});

/** A metadata server double: path -> [status, body], recording the requests. */
function fakeFetch(routes: Record<string, [number, string]>): FetchLike & { seen: string[] } {
  const seen: string[] = [];
  const fn = async (url: string, init: RequestInit) => {
    const headers = new Headers(init.headers);
    seen.push(
      `${init.method ?? "GET"} ${new URL(url).pathname} ${[...headers].map((h) => h.join("=")).join(",")}`,
    );
    const [status, body] = routes[new URL(url).pathname] ?? [404, "not found"];
    return new Response(body, { status });
  };
  return Object.assign(fn, { seen });
}

describe("cloud probes", () => {
  const signal = new AbortController().signal;
  it("GCE: the cluster-name attribute, with Metadata-Flavor", async () => {
    const f = fakeFetch({
      "/computeMetadata/v1/instance/attributes/cluster-name": [200, "gke-prod"],
    });
    assert.equal(await gceProbe(f).probe(signal), "gke-prod");
    assert.deepEqual(f.seen, [
      "GET /computeMetadata/v1/instance/attributes/cluster-name metadata-flavor=Google",
    ]);
    assert.equal(await gceProbe(fakeFetch({})).probe(signal), undefined);
  });
  it("EKS: the eks:cluster-name instance tag over IMDSv2", async () => {
    const f = fakeFetch({
      "/latest/api/token": [200, "TOKEN"],
      "/latest/meta-data/tags/instance": [200, "Name\neks:cluster-name\neks:nodegroup-name"],
      "/latest/meta-data/tags/instance/eks:cluster-name": [200, "eks-prod"],
    });
    assert.equal(await eksProbe(f).probe(signal), "eks-prod");
    assert.deepEqual(f.seen, [
      "PUT /latest/api/token x-aws-ec2-metadata-token-ttl-seconds=60",
      "GET /latest/meta-data/tags/instance x-aws-ec2-metadata-token=TOKEN",
      "GET /latest/meta-data/tags/instance/eks:cluster-name x-aws-ec2-metadata-token=TOKEN",
    ]);
  });
  it("EKS: the kubernetes.io/cluster/<name> tag", async () => {
    const f = fakeFetch({
      "/latest/api/token": [200, "T"],
      "/latest/meta-data/tags/instance": [200, "Name\nkubernetes.io/cluster/eks-old"],
    });
    assert.equal(await eksProbe(f).probe(signal), "eks-old");
  });
  it("EKS: nothing when tags are not exposed", async () => {
    const f = fakeFetch({ "/latest/api/token": [200, "T"] });
    assert.equal(await eksProbe(f).probe(signal), undefined);
  });
  it("Azure: the node resource group", async () => {
    const f = fakeFetch({
      "/metadata/instance/compute/resourceGroupName": [200, "MC_rg_aks-prod_eastus\n"],
    });
    assert.equal(await azureProbe(f).probe(signal), "aks-prod");
    assert.match(f.seen[0]!, /metadata=true/);
    const plainVm = fakeFetch({ "/metadata/instance/compute/resourceGroupName": [200, "my-vms"] });
    assert.equal(await azureProbe(plainVm).probe(signal), undefined);
  });
});
