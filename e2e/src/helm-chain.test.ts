/**
 * The whole chain from `helm install`: the chart's objects on a real control plane → the
 * controllers make the agent and operator Pods → the scheduler binds them to the Node → the
 * mini-kubelet runs them from their Pod specs (env, ConfigMap, TLS Secret, projected tokens,
 * Service DNS) → `kubectl apply` of a BeylaInstrumentation → the operator pushes over HTTPS →
 * the agent selects the workload Pod's process → exact metrics with Kubernetes labels; then
 * edits, Pod replacements, deletion and `helm uninstall`. Nothing is given to the processes
 * by hand: everything they get comes from the objects helm installed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { agentHandle, type AgentHandle } from "./helpers/agent.js";
import { AGENT, AGENT_CAPABILITIES, NAMESPACE, OPERATOR, RELEASE } from "./helpers/helm-chart.js";
import { CHART_DIR, ControlPlane, controlPlaneUnavailable } from "./helpers/helm.js";
import {
  cgroupMounts,
  createContainerCgroup,
  startInCgroup,
  type ContainerCgroup,
} from "./helpers/kube-cgroup.js";
import { containerId, reportRunning } from "./helpers/kube-pods.js";
import { MiniKubelet, type ContainerRun } from "./helpers/mini-kubelet.js";
import { POD_IP } from "./helpers/mini-kubelet-pod.js";
import { makeCertificates } from "./helpers/operator-cluster.js";
import {
  freePort,
  REPO_ROOT,
  run,
  stopAll,
  waitFor,
  waitForPort,
  type Child,
} from "./helpers/processes.js";
import { total } from "./helpers/prom-text.js";

const DURATION = "http_server_request_duration_seconds_count";
const SERVER = join(REPO_ROOT, "e2e", "fixtures", "node-server.mjs");
const CLUSTER = "e2e-helm";
const SECRET = "beyla-control-tls";
const ns = ["-n", NAMESPACE];
/** Bit numbers of the agent's capabilities (linux/capability.h). */
const CAP_BITS: Record<string, bigint> = {
  DAC_READ_SEARCH: 2n,
  NET_RAW: 13n,
  SYS_PTRACE: 19n,
  PERFMON: 38n,
  BPF: 39n,
  CHECKPOINT_RESTORE: 40n,
};

/** Field access on parsed JSON, typed loosely on purpose: the assertions check the values. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Workload {
  ns: string;
  pod: string;
  port: number;
  child: Child;
}

describe("helm install charts/beyla: BeylaInstrumentation → operator Pod → agent Pod → metrics", () => {
  let cp: ControlPlane;
  let kubelet: MiniKubelet;
  let node: string;
  let dir: string;
  let shop: Workload;
  let pay: Workload;
  const cgroups: ContainerCgroup[] = [];
  const ports = { operator: 0, control: 0, metrics: 0, shop: 0, pay: 0 };

  /** The agent the mini-kubelet runs now for the DaemonSet's Pod. */
  const agent = (): AgentHandle => agentHandle(container(`${AGENT}-`).child, ports.metrics);
  const container = (prefix: string): ContainerRun => {
    const r = kubelet.current(NAMESPACE, prefix);
    assert.ok(r, `no container of a ${prefix}* Pod runs:\n${kubelet.report()}`);
    return r;
  };
  /** waitFor, with the containers' stderr in the message when it times out. */
  const until = async <T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000) => {
    try {
      return await waitFor(what, probe, ms);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${kubelet.report()}`, { cause: e });
    }
  };
  const logged = (w: Workload, msg: string) =>
    agent().child.stderr().includes(`msg="${msg}" pid=${w.child.pid} `);
  const instrumenting = (w: Workload) => logged(w, "instrumenting process");
  const released = (w: Workload) => logged(w, "stopped instrumenting process");

  /** Sends `n` requests to `w`, waits for `expected` in the agent's count, returns the count. */
  async function countAfter(w: Workload, n: number, expected: number): Promise<number> {
    await run("ab", ["-q", "-k", "-n", String(n), "-c", "2", `http://127.0.0.1:${w.port}/users/1`]);
    const labels = {
      server_port: String(w.port),
      k8s_namespace_name: w.ns,
      k8s_pod_name: w.pod,
      k8s_deployment_name: "web",
      k8s_cluster_name: CLUSTER,
    };
    if (expected > 0) {
      await agent()
        .waitForSamples(
          `${expected} requests of ${w.ns}`,
          (x) => total(x, DURATION, labels) >= expected,
        )
        .catch((e: Error) => assert.fail(`${e.message}\n${kubelet.report()}`));
    }
    await new Promise((r) => setTimeout(r, 500));
    return total(await agent().samples(), DURATION, { server_port: String(w.port) });
  }

  /**
   * A Deployment "web" (label app=web) whose one Pod the scheduler binds to the Node; the test
   * plays its container: a server in the Pod's container cgroup, reported Running.
   */
  async function workload(namespace: string, port: number): Promise<Workload> {
    await cp.kubectl(["create", "namespace", namespace]);
    await cp.kubectl(["wait", "--for=create", "serviceaccount/default", "-n", namespace]);
    await cp.apply(webDeployment(namespace));
    const pod: Json = await until(`the web Pod of ${namespace} bound to ${node}`, async () => {
      const list: Json = await cp.getJson(["pods", "-n", namespace, "-l", "app=web"]);
      return list.items.find((p: Json) => p.spec.nodeName === node);
    });
    const id = containerId();
    await reportRunning(cp, namespace, pod.metadata.name, "web", id, POD_IP);
    const cgroup = createContainerCgroup("v2-systemd", pod.metadata.uid, id, cgroupMounts());
    assert.ok(cgroup, "needs a cgroup v2 hierarchy");
    cgroups.push(cgroup);
    const child = startInCgroup(cgroup, process.execPath, [SERVER, String(port)]);
    await waitForPort(port);
    return { ns: namespace, pod: pod.metadata.name, port, child };
  }

  before(async () => {
    // Never skipped: CI builds the binaries (e2e/k8s/build.sh), so a missing one is a failure.
    assert.equal(await controlPlaneUnavailable(), undefined);
    cp = await ControlPlane.start();
    assert.ok(cp.controllers && cp.scheduler, "needs kube-controller-manager and kube-scheduler");
    assert.equal(cp.nodes.length, 1, `one Node: ${cp.nodes.join(", ")}`);
    node = cp.nodes[0]!;
    dir = mkdtempSync(join(tmpdir(), "beyla-e2e-helm-chain-"));
    // Every Pod is 127.0.0.1 here: each listener gets its own port, picked up front.
    const picked = new Set<number>();
    while (picked.size < Object.keys(ports).length) picked.add(await freePort());
    [ports.operator, ports.control, ports.metrics, ports.shop, ports.pay] = [...picked];
    await createPrerequisites(cp, dir);
    kubelet = MiniKubelet.start(cp, node);
    shop = await workload("shop", ports.shop);
    pay = await workload("pay", ports.pay);
    const values = {
      "control.tls.secretName": SECRET,
      "operator.replicas": 1,
      "operator.port": ports.operator,
      "agent.controlPort": ports.control,
      "agent.config.prometheus_export.port": ports.metrics,
    };
    const install = await cp.helmOutcome([
      ...["install", RELEASE, CHART_DIR, ...ns, "--create-namespace", "--wait", "--timeout=120s"],
      ...Object.entries(values).flatMap(([k, v]) => ["--set", `${k}=${v}`]),
    ]);
    assert.equal(install.code, 0, `helm install: ${install.stderr}\n${kubelet.report()}`);
    // helm --wait lets a 1-Node DaemonSet be unready (maxUnavailable 1); rollout status does not.
    const rollout = ["rollout", "status", `daemonset/${AGENT}`, ...ns, "--timeout=60s"];
    const agentReady = await cp.kubectlOutcome(rollout);
    assert.equal(agentReady.code, 0, `${agentReady.stderr}\n${kubelet.report()}`);
  });

  after(async () => {
    await kubelet?.stop();
    await stopAll();
    for (const c of cgroups) c.remove();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("runs the chart's Pods on the Node, configured only by what helm installed", async () => {
    for (const prefix of [`${AGENT}-`, `${OPERATOR}-`]) {
      const pod: Json = await cp.getJson(["pod", container(prefix).pod, ...ns]);
      assert.equal(pod.spec.nodeName, node);
      assert.equal(pod.status.podIP, POD_IP);
      const ready = pod.status.conditions.find((c: Json) => c.type === "Ready");
      assert.equal(ready.status, "True");
    }
    const log = agent().child.stderr();
    // The in-cluster ServiceAccount (projected kube-api-access volume), and the cluster name
    // from kubeadm-config, which only the chart's RBAC lets it read.
    assert.match(log, /msg="Kubernetes API reachable" .*via="in-cluster service account"/);
    assert.match(
      log,
      new RegExp(`msg="Kubernetes cluster name" .*cluster="${CLUSTER}" source="kubeadm-config"`),
    );
    const lease: Json = await cp.getJson(["lease", OPERATOR, ...ns]);
    assert.equal(lease.spec.holderIdentity, container(`${OPERATOR}-`).pod);
    // The chart's securityContexts as a runtime applies them: the agent works with exactly the
    // chart's capabilities, the operator runs as its non-root user.
    const status = (prefix: string) =>
      readFileSync(`/proc/${container(prefix).child.pid}/status`, "utf8");
    const expected = AGENT_CAPABILITIES.reduce((m, c) => m | (1n << CAP_BITS[c]!), 0n);
    assert.match(status(`${AGENT}-`), new RegExp(`^CapEff:\\s+0*${expected.toString(16)}$`, "m"));
    assert.match(status(`${OPERATOR}-`), /^Uid:\s+65532\s+65532\s+65532\s+65532$/m);
    assert.equal(agent().child.stderr().includes('msg="instrumenting process"'), false);
  });

  it("selects exactly the Pod the resource names, with its k8s labels, and reports it in status", async () => {
    await cp.apply(webResource("^sho"));
    await until(
      "the agent to instrument the shop Pod",
      async () => instrumenting(shop) || undefined,
    );
    assert.equal(await countAfter(shop, 23, 23), 23);
    assert.equal(await countAfter(pay, 9, 0), 0);
    const status: Json = await until("status to report the selection", async () => {
      const bi: Json = await cp.getJson(["bi", "web", ...ns]);
      return bi.status?.processesSelected === 1 ? bi.status : undefined;
    });
    const conditions = Object.fromEntries(status.conditions.map((c: Json) => [c.type, c.status]));
    assert.deepEqual(conditions, { Valid: "True", Synced: "True", Ready: "True" });
    assert.equal(status.nodesApplied, 1);
    assert.equal(status.nodesTotal, 1);
  });

  it("rejects an invalid resource at apply", async () => {
    const o = await cp.kubectlOutcome(
      ["apply", "-f", "-"],
      webResource("^a(b").replace("name: web", "name: broken"),
    );
    assert.equal(o.code, 1);
    assert.match(o.stderr, /spec\.discovery\.services\[0\]\.kubernetes\.namespace/);
    assert.match(o.stderr, /must be a valid RE2 regular expression/);
    assert.equal(await cp.exists("bi", "broken", NAMESPACE), false);
  });

  it("follows an edit of the resource within seconds", async () => {
    const t0 = Date.now();
    await cp.apply(webResource("^pa"));
    await until("shop to be released", async () => released(shop) || undefined);
    await until("pay to be instrumented", async () => instrumenting(pay) || undefined);
    assert.ok(Date.now() - t0 < 10_000, `moved after ${Date.now() - t0} ms`);
    assert.equal(await countAfter(shop, 4, 0), 23);
    assert.equal(await countAfter(pay, 11, 11), 11);
  });

  it("keeps the selection while the Deployment replaces the operator Pod", async () => {
    const old = container(`${OPERATOR}-`);
    const pushes = () =>
      agent().child.stderr().split('msg="control: selector set in force"').length;
    const before = pushes();
    await cp.kubectl(["delete", "pod", old.pod, ...ns, "--timeout=60s"]);
    assert.equal(old.child.proc.exitCode, 0, `the operator stops cleanly:\n${kubelet.report()}`);
    assert.equal(await countAfter(pay, 5, 16), 16);
    const next = await until("a new operator Pod, running and leading", async () => {
      const r = kubelet.current(NAMESPACE, `${OPERATOR}-`);
      if (r === undefined || r.pod === old.pod) return undefined;
      const lease: Json = await cp.getJson(["lease", OPERATOR, ...ns]);
      return lease.spec.holderIdentity === r.pod ? r : undefined;
    });
    // The new leader pushes the set the agent holds (version kept on the Lease): no re-apply.
    await until("the new operator's push", async () => pushes() > before || undefined);
    assert.equal(released(pay), false);
    assert.notEqual(next.child.pid, old.child.pid);
    assert.equal(await countAfter(pay, 5, 21), 21);
  });

  it("gives the agent of a replaced DaemonSet Pod its selection back", async () => {
    const old = container(`${AGENT}-`);
    await cp.kubectl(["delete", "pod", old.pod, ...ns, "--timeout=60s"]);
    assert.equal(old.child.proc.exitCode, 0, `the agent stops cleanly:\n${kubelet.report()}`);
    await until(
      "a new agent Pod that instruments pay",
      async () => {
        const r = kubelet.current(NAMESPACE, `${AGENT}-`);
        return r !== undefined && r.pod !== old.pod && instrumenting(pay) ? r : undefined;
      },
      30_000,
    );
    // Its pull at start reached the operator by its Service name, over the chart's TLS Secret.
    assert.match(agent().child.stderr(), /msg="selector set pulled from the operator"/);
    assert.equal(await countAfter(pay, 7, 7), 7);
    const bi: Json = await cp.getJson(["bi", "web", ...ns]);
    assert.equal(bi.status.nodesApplied, 1);
  });

  it("stops instrumenting when the resource is deleted", async () => {
    await cp.kubectl(["delete", "bi", "web", ...ns]);
    await until("pay to be released", async () => released(pay) || undefined);
    assert.equal(await countAfter(pay, 5, 0), 7);
  });

  it("stops every container at helm uninstall, none having restarted", async () => {
    await cp.helm(["uninstall", RELEASE, ...ns, "--wait", "--timeout", "60s"]);
    await until("the garbage collector's deletion of the release's Pods", async () => {
      const pods: Json = await cp.getJson(["pods", ...ns]);
      return pods.items.length === 0 || undefined;
    });
    assert.equal(kubelet.current(NAMESPACE, ""), undefined);
    // Two agents and two operators ran (one each replaced), and all stopped cleanly on SIGTERM.
    const runs = kubelet
      .runs()
      .map((r) => [r.pod.startsWith(AGENT) ? AGENT : OPERATOR, r.child.proc.exitCode]);
    assert.deepEqual(
      runs.sort(),
      [
        [AGENT, 0],
        [AGENT, 0],
        [OPERATOR, 0],
        [OPERATOR, 0],
      ],
      kubelet.report(),
    );
    assert.equal(kubelet.restartCount(), 0, kubelet.report());
  });
});

/**
 * What an administrator provides before `helm install`: the namespace with the control
 * channel's TLS Secret (one certificate for the agents, reached by Pod IP, and the operator,
 * reached by its Service name), and kubeadm's ClusterConfiguration.
 */
async function createPrerequisites(cp: ControlPlane, dir: string): Promise<void> {
  await cp.kubectl(["create", "namespace", NAMESPACE]);
  const certs = makeCertificates(dir, `IP:${POD_IP},DNS:${OPERATOR}.${NAMESPACE}.svc`);
  await cp.kubectl([
    ...["create", "secret", "generic", SECRET, ...ns, "--type=kubernetes.io/tls"],
    `--from-file=tls.crt=${certs.operatorCert}`,
    `--from-file=tls.key=${certs.operatorKey}`,
    `--from-file=ca.crt=${certs.caFile}`,
  ]);
  await cp.apply(`
apiVersion: v1
kind: ConfigMap
metadata: { name: kubeadm-config, namespace: kube-system }
data:
  ClusterConfiguration: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: ClusterConfiguration
    clusterName: ${CLUSTER}
    kubernetesVersion: v1.34.4
    networking: { dnsDomain: cluster.local, serviceSubnet: 10.96.0.0/16 }
`);
}

function webDeployment(namespace: string): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${namespace} }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: "registry.example/e2e:1" }]
`;
}

/** A resource in the operator's namespace (cluster-wide): namespaces by regex, label app=web. */
function webResource(namespaceRegex: string): string {
  return `
apiVersion: beyla.io/v1alpha1
kind: BeylaInstrumentation
metadata: { name: web, namespace: ${NAMESPACE} }
spec:
  discovery:
    services:
      - kubernetes:
          namespace: "${namespaceRegex}"
          podLabels: { app: "^web$" }
`;
}
