/**
 * The agent in Kubernetes, against a real kube-apiserver: pods made through the API, their
 * "containers" real HTTP servers in real cgroups named like containerd's, the agent selecting
 * them by k8s_* criteria and decorating their metrics with the pods' metadata.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  AGENT_CLI,
  settledSamples,
  startAgent,
  waitForInstrumented,
  type AgentHandle,
} from "./helpers/agent.js";
import { agentKubeconfig, startControlPlane, type ControlPlane } from "./helpers/kube.js";
import {
  containerId,
  createPod,
  podManifest,
  type PodHandle,
  reportRunning,
  START_TIME,
  uidOf,
} from "./helpers/kube-pods.js";
import {
  cgroupMounts,
  type CgroupLayout,
  type ContainerCgroup,
  createContainerCgroup,
  procCgroup,
  startInCgroup,
} from "./helpers/kube-cgroup.js";
import {
  freePort,
  REPO_ROOT,
  run,
  start,
  stopAll,
  waitForPort,
  type Child,
} from "./helpers/processes.js";
import { select, total } from "./helpers/prom-text.js";

const DURATION = "http_server_request_duration_seconds_count";
const SERVER = join(REPO_ROOT, "e2e", "fixtures", "node-server.mjs");
const mounts = cgroupMounts();
const canRun = process.getuid?.() === 0 && (mounts.v2 !== undefined || mounts.v1.has("pids"));
const skip = canRun ? false : "needs root and a cgroup v2 or v1 `pids` hierarchy";

/** cgroup v2 when mounted, else v1 (or the other way round): whatever this machine has. */
function layout(prefer: CgroupLayout): CgroupLayout {
  const has = (l: CgroupLayout) => (l === "v2-systemd" ? !!mounts.v2 : mounts.v1.has("pids"));
  return has(prefer) ? prefer : prefer === "v2-systemd" ? "v1-cgroupfs" : "v2-systemd";
}

/** A node-server.mjs "container": the real server, in the cgroup of `pod`'s container. */
async function startContainer(
  cgroups: ContainerCgroup[],
  pod: PodHandle,
  l: CgroupLayout,
  port: number,
): Promise<Child> {
  const cgroup = createContainerCgroup(l, pod.uid, pod.containerId, mounts);
  assert.ok(cgroup, `no cgroup hierarchy for ${l}`);
  cgroups.push(cgroup);
  const child = startInCgroup(cgroup, process.execPath, [SERVER, String(port)]);
  await waitForPort(port);
  assert.match(procCgroup(child.pid), new RegExp(cgroup.path.replaceAll(".", "\\.")));
  return child;
}

/** `n` GETs on one keep-alive connection: of `path`<i> when it ends with "/", else of `path`. */
async function get(port: number, n: number, path = "/users/"): Promise<void> {
  const url = (i: number) => `http://127.0.0.1:${port}${path}${path.endsWith("/") ? i + 1 : ""}`;
  const urls = Array.from({ length: n }, (_, i) => url(i));
  await run("curl", ["-s", ...urls.flatMap((u) => [u, "-o", "/dev/null"])]);
}

describe("agent in Kubernetes (real kube-apiserver)", { skip }, () => {
  let cp: ControlPlane;
  let kubeconfig: string;
  const cgroups: ContainerCgroup[] = [];

  before(async () => {
    cp = await startControlPlane();
    kubeconfig = await agentKubeconfig(cp);
    await cp.apply(`
apiVersion: v1
kind: ConfigMap
metadata: { name: kubeadm-config, namespace: kube-system }
data:
  ClusterConfiguration: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: ClusterConfiguration
    clusterName: e2e-kubeadm
    kubernetesVersion: v1.34.4
`);
  });

  after(async () => {
    await stopAll();
    for (const c of cgroups.reverse()) c.remove(); // last made first: they share parents
    await cp?.stop();
  });

  describe("a Deployment's pod selected by namespace and label, on this host's node", () => {
    const node = hostname().toLowerCase(); // what the agent uses without NODE_NAME
    let agent: AgentHandle;
    let checkout: PodHandle;
    let server: Child;
    let intruder: Child;
    let port: number;
    let intruderPort: number;

    before(async () => {
      await cp.apply(`
apiVersion: v1
kind: Node
metadata:
  name: ${node}
  labels: { cluster.x-k8s.io/cluster-name: e2e-capi, kubernetes.io/hostname: ${node} }
---
apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Namespace
metadata: { name: other }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: checkout, namespace: shop }
spec:
  replicas: 1
  selector: { matchLabels: { app: checkout } }
  template:
    metadata: { labels: { app: checkout } }
    spec: { containers: [{ name: app, image: "registry.example/e2e:1" }] }
`);
      const deployUid = await uidOf(cp, "deployment", "checkout", "shop");
      await cp.apply(
        JSON.stringify({
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          metadata: {
            name: "checkout-5d9f7c6b8",
            namespace: "shop",
            labels: { app: "checkout", "pod-template-hash": "5d9f7c6b8" },
            ownerReferences: [
              {
                apiVersion: "apps/v1",
                kind: "Deployment",
                name: "checkout",
                uid: deployUid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: "checkout", "pod-template-hash": "5d9f7c6b8" } },
            template: {
              metadata: { labels: { app: "checkout", "pod-template-hash": "5d9f7c6b8" } },
              spec: { containers: [{ name: "app", image: "registry.example/e2e:1" }] },
            },
          },
        }),
      );
      const rsUid = await uidOf(cp, "replicaset", "checkout-5d9f7c6b8", "shop");
      checkout = {
        containerId: containerId(),
        uid: await createPod(
          cp,
          podManifest({
            ns: "shop",
            name: "checkout-5d9f7c6b8-x7k2p",
            node,
            container: "app",
            labels: { app: "checkout", "pod-template-hash": "5d9f7c6b8" },
            owner: {
              apiVersion: "apps/v1",
              kind: "ReplicaSet",
              name: "checkout-5d9f7c6b8",
              uid: rsUid,
            },
          }),
        ),
      };
      await reportRunning(
        cp,
        "shop",
        "checkout-5d9f7c6b8-x7k2p",
        "app",
        checkout.containerId,
        "10.244.0.7",
      );
      // same label, same node, but a namespace no selector names
      const other: PodHandle = {
        containerId: containerId(),
        uid: await createPod(
          cp,
          podManifest({
            ns: "other",
            name: "intruder",
            node,
            container: "app",
            labels: { app: "checkout" },
          }),
        ),
      };
      await reportRunning(cp, "other", "intruder", "app", other.containerId, "10.244.0.8");

      port = await freePort();
      intruderPort = await freePort();
      server = await startContainer(cgroups, checkout, layout("v2-systemd"), port);
      intruder = await startContainer(cgroups, other, layout("v2-systemd"), intruderPort);
      agent = await startAgent({
        env: { KUBECONFIG: kubeconfig },
        configYaml: `attributes:
  kubernetes:
    enable: autodetect
discovery:
  services:
    - k8s_namespace: ^shop$
      k8s_pod_labels:
        app: ^checkout$
`,
      });
      await waitForInstrumented(agent, server.pid);
    });

    after(async () => {
      await agent?.stop();
      await server?.stop();
      await intruder?.stop();
    });

    it("counts every request with the pod's labels, and nothing from the other namespace", async () => {
      await get(port, 17);
      await get(port, 3, "/error");
      await get(intruderPort, 9);

      const labels = {
        k8s_namespace_name: "shop",
        k8s_pod_name: "checkout-5d9f7c6b8-x7k2p",
        k8s_container_name: "app",
        k8s_deployment_name: "checkout",
        k8s_replicaset_name: "checkout-5d9f7c6b8",
        k8s_owner_name: "checkout",
        k8s_node_name: node,
        k8s_cluster_name: "e2e-capi",
        k8s_pod_uid: checkout.uid,
        k8s_pod_start_time: START_TIME,
        service_name: "checkout",
        service_namespace: "shop",
        server_port: String(port),
      };
      const s = await settledSamples(
        agent,
        (x) => total(x, DURATION, labels) >= 20,
        "checkout requests",
      );
      assert.equal(total(s, DURATION, { ...labels, http_response_status_code: "200" }), 17);
      assert.equal(total(s, DURATION, { ...labels, http_response_status_code: "500" }), 3);
      assert.equal(total(s, DURATION, { server_port: String(port) }), 20, "all of them decorated");
      assert.deepEqual(select(s, DURATION, { server_port: String(intruderPort) }), []);
      assert.deepEqual(select(s, DURATION, { k8s_namespace_name: "other" }), []);

      const log = agent.child.stderr();
      assert.equal(
        log.includes(`pid=${intruder.pid} `),
        false,
        "the other pod's process is not instrumented",
      );
      assert.match(
        log,
        /msg="Kubernetes cluster name" .*cluster="e2e-capi" source="node label cluster.x-k8s.io\/cluster-name"/,
      );
      assert.doesNotMatch(
        log,
        /cannot read the owner|msg="pod informer"/,
        "RBAC is enough, the API answered",
      );
    });
  });

  describe("a CronJob's pod whose container shows up after the agent started, NODE_NAME set", () => {
    const node = "e2e-node-2";
    let agent: AgentHandle;
    let report: PodHandle;
    let server: Child;
    let port: number;

    before(async () => {
      await cp.apply(`
apiVersion: v1
kind: Node
metadata: { name: ${node}, labels: { kubernetes.io/hostname: ${node} } }
---
apiVersion: v1
kind: Namespace
metadata: { name: bank }
---
apiVersion: batch/v1
kind: CronJob
metadata: { name: nightly, namespace: bank }
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{ name: report, image: "registry.example/e2e:1" }]
`);
      const cronUid = await uidOf(cp, "cronjob", "nightly", "bank");
      await cp.apply(
        JSON.stringify({
          apiVersion: "batch/v1",
          kind: "Job",
          metadata: {
            name: "nightly-29012345",
            namespace: "bank",
            ownerReferences: [
              {
                apiVersion: "batch/v1",
                kind: "CronJob",
                name: "nightly",
                uid: cronUid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          spec: {
            template: {
              spec: {
                restartPolicy: "Never",
                containers: [{ name: "report", image: "registry.example/e2e:1" }],
              },
            },
          },
        }),
      );
      const jobUid = await uidOf(cp, "job", "nightly-29012345", "bank");
      report = {
        containerId: containerId(),
        uid: await createPod(
          cp,
          podManifest({
            ns: "bank",
            name: "nightly-29012345-q8z4m",
            node,
            container: "report",
            annotations: { "resource.opentelemetry.io/service.name": "nightly-report" },
            owner: { apiVersion: "batch/v1", kind: "Job", name: "nightly-29012345", uid: jobUid },
          }),
        ),
      };
      port = await freePort();
      server = await startContainer(cgroups, report, layout("v1-cgroupfs"), port);
      agent = await startAgent({
        env: { KUBECONFIG: kubeconfig, NODE_NAME: node },
        configYaml: `attributes:
  kubernetes:
    enable: true
discovery:
  services:
    - k8s_namespace: ^bank$
      k8s_owner_name: ^nightly$
`,
      });
    });

    after(async () => {
      await agent?.stop();
      await server?.stop();
    });

    it("selects it when the pod's status names the container, decorated through Job -> CronJob", async () => {
      // the pod is known from its cgroup's pod UID, but not the container: the agent waits
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(agent.child.stderr().includes(`pid=${server.pid} `), false);
      await reportRunning(
        cp,
        "bank",
        "nightly-29012345-q8z4m",
        "report",
        report.containerId,
        "10.244.1.9",
      );
      await waitForInstrumented(agent, server.pid);

      await get(port, 11);
      const labels = {
        k8s_namespace_name: "bank",
        k8s_pod_name: "nightly-29012345-q8z4m",
        k8s_container_name: "report",
        k8s_owner_name: "nightly",
        k8s_node_name: node,
        k8s_cluster_name: "e2e-kubeadm",
        k8s_pod_uid: report.uid,
        service_name: "nightly-report",
        service_namespace: "bank",
        server_port: String(port),
      };
      const s = await settledSamples(
        agent,
        (x) => total(x, DURATION, labels) >= 11,
        "report requests",
      );
      assert.equal(total(s, DURATION, labels), 11);
      assert.equal(total(s, DURATION, { server_port: String(port) }), 11);
      assert.deepEqual(
        select(s, DURATION, { server_port: String(port), k8s_deployment_name: "nightly" }),
        [],
      );
      assert.match(agent.child.stderr(), /cluster="e2e-kubeadm" source="kubeadm-config"/);
    });
  });
});

describe("agent without a reachable Kubernetes API", { skip }, () => {
  after(() => stopAll());

  it("enable: autodetect runs on without metadata and says why", async () => {
    const dir = mkdtempSync(join(tmpdir(), "beyla-e2e-kube-"));
    const kubeconfig = join(dir, "kubeconfig");
    // nothing listens on port 1: the connection is refused at once
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`,
    );
    const agent = await startAgent({
      env: { KUBECONFIG: kubeconfig, BEYLA_KUBE_METADATA_ENABLE: "autodetect" },
      configYaml: "discovery:\n  services:\n    - k8s_namespace: ^shop$\n",
    });
    const log = agent.child.stderr();
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
    assert.match(log, /msg="Kubernetes metadata off \(autodetect\): API server unreachable"/);
    assert.match(log, /msg="discovery selectors with k8s_\* criteria match nothing/);
  });

  it("enable: true without any API configuration stops the agent (exit 1)", async () => {
    const child = start(process.execPath, [AGENT_CLI], {
      env: {
        PATH: process.env["PATH"] ?? "/usr/bin:/bin",
        BEYLA_OPEN_PORT: "1",
        BEYLA_KUBE_METADATA_ENABLE: "true",
        HOME: "/nonexistent",
      },
    });
    const code = await new Promise<number | null>((r) => child.proc.once("exit", r));
    assert.equal(code, 1);
    assert.match(
      child.stderr(),
      /attributes\.kubernetes\.enable is true, but there is no KUBECONFIG, ~\/\.kube\/config or in-cluster service account/,
    );
  });
});
