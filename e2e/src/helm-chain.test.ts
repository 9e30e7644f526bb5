/**
 * The whole chain from `helm install` with the chart's defaults (two operator replicas, the
 * chart's ports): the chart's objects on a real control plane → the controllers make the
 * agent and operator Pods → the scheduler binds them to the Node → the mini-kubelet runs them
 * from their Pod specs, each Pod in its own network namespace with its own Pod IP (env,
 * ConfigMap, TLS Secret, projected tokens, Service DNS and ClusterIPs, the API server through
 * the `kubernetes` Service) → one operator leads through the Lease, the other stands by →
 * `kubectl apply` of a BeylaInstrumentation → the leader pushes over HTTPS to the agent's Pod
 * IP → the agent selects the workload Pod's process → exact metrics with Kubernetes labels;
 * then edits, the standby taking over from a deleted leader, Pod replacements, deletion and
 * `helm uninstall`. Nothing is given to the processes by hand: everything they get comes from
 * the objects helm installed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
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
import { NODE_IP } from "./helpers/mini-kubelet-pod.js";
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
const ACQUIRED = 'msg="leader election: acquired the lease"';
const OPERATOR_SELECTOR = `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=operator`;
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
  /** The workloads' ports on the host (the chart's Pods have their own network namespaces). */
  const ports = { shop: 0, pay: 0 };
  /** The agent's metrics port: the chart's default (its DaemonSet's port "metrics"). */
  let metricsPort = 0;

  /** The agent the mini-kubelet runs now for the DaemonSet's Pod, on its Pod IP. */
  const agent = (): AgentHandle => {
    const r = container(`${AGENT}-`);
    return agentHandle(r.child, metricsPort, r.podIP);
  };
  const container = (prefix: string): ContainerRun => {
    const r = kubelet.current(NAMESPACE, prefix);
    assert.ok(r, `no container of a ${prefix}* Pod runs:\n${kubelet.report()}`);
    return r;
  };
  const operators = (): ContainerRun[] => kubelet.running(NAMESPACE, `${OPERATOR}-`);
  const lease = async (): Promise<Json> => cp.getJson(["lease", OPERATOR, ...ns]);
  /** The operator whose Pod holds the Lease. */
  const leader = async (): Promise<ContainerRun> => {
    const holder = (await lease()).spec.holderIdentity;
    const r = operators().find((o) => o.pod === holder);
    assert.ok(r, `the Lease holder ${holder} is not a running operator:\n${kubelet.report()}`);
    return r;
  };
  const podReady = async (r: ContainerRun): Promise<boolean> => {
    const pod: Json = await cp.getJson(["pod", r.pod, ...ns]);
    return pod.status.conditions?.find((c: Json) => c.type === "Ready")?.status === "True";
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
    // The test plays the container, on the host's network.
    await reportRunning(cp, namespace, pod.metadata.name, "web", id, NODE_IP);
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
    const picked = new Set<number>();
    while (picked.size < Object.keys(ports).length) picked.add(await freePort());
    [ports.shop, ports.pay] = [...picked];
    kubelet = await MiniKubelet.start(cp, node);
    await createPrerequisites(cp, dir, kubelet.network.podIPs());
    shop = await workload("shop", ports.shop);
    pay = await workload("pay", ports.pay);
    // Everything else is the chart's default: two operator replicas, the chart's ports.
    const values = { "control.tls.secretName": SECRET };
    const install = await cp.helmOutcome([
      ...["install", RELEASE, CHART_DIR, ...ns, "--create-namespace", "--wait", "--timeout=120s"],
      ...Object.entries(values).flatMap(([k, v]) => ["--set", `${k}=${v}`]),
    ]);
    assert.equal(install.code, 0, `helm install: ${install.stderr}\n${kubelet.report()}`);
    // helm --wait lets a 1-Node DaemonSet be unready (maxUnavailable 1); rollout status does not.
    const rollout = ["rollout", "status", `daemonset/${AGENT}`, ...ns, "--timeout=60s"];
    const agentReady = await cp.kubectlOutcome(rollout);
    assert.equal(agentReady.code, 0, `${agentReady.stderr}\n${kubelet.report()}`);
    const ds: Json = await cp.getJson(["daemonset", AGENT, ...ns]);
    metricsPort = ds.spec.template.spec.containers[0].ports.find(
      (p: Json) => p.name === "metrics",
    ).containerPort;
  });

  after(async () => {
    await kubelet?.stop();
    await stopAll();
    for (const c of cgroups) c.remove();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("runs the chart's Pods on the Node, each with its own network, configured only by what helm installed", async () => {
    const deployment: Json = await cp.getJson(["deployment", OPERATOR, ...ns]);
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(operators().length, 2, kubelet.report());
    const runs = [container(`${AGENT}-`), ...operators()];
    const range = new Set(kubelet.network.podIPs());
    const hostNet = readlinkSync("/proc/self/ns/net");
    for (const r of runs) {
      const pod: Json = await cp.getJson(["pod", r.pod, ...ns]);
      assert.equal(pod.spec.nodeName, node);
      assert.equal(pod.status.podIP, r.podIP);
      assert.deepEqual(pod.status.podIPs, [{ ip: r.podIP }]);
      assert.equal(pod.status.hostIP, NODE_IP);
      assert.ok(range.has(r.podIP), `${r.podIP} is in ${kubelet.network.cidr}`);
      const ready = pod.status.conditions.find((c: Json) => c.type === "Ready");
      assert.equal(ready.status, "True");
    }
    // The agent's POD_IP (downward API, status.podIP) is its Pod's own IP.
    const environ = readFileSync(`/proc/${runs[0]!.child.pid}/environ`, "utf8").split("\0");
    assert.ok(environ.includes(`POD_IP=${runs[0]!.podIP}`), environ.join(" "));
    // One network namespace per Pod, none of them the host's, and one IP per Pod.
    const netns = runs.map((r) => readlinkSync(`/proc/${r.child.pid}/ns/net`));
    assert.equal(new Set([hostNet, ...netns]).size, runs.length + 1);
    assert.equal(new Set(runs.map((r) => r.podIP)).size, runs.length);
    const log = agent().child.stderr();
    // The in-cluster ServiceAccount (projected kube-api-access volume), and the cluster name
    // from kubeadm-config, which only the chart's RBAC lets it read.
    assert.match(log, /msg="Kubernetes API reachable" .*via="in-cluster service account"/);
    assert.match(
      log,
      new RegExp(`msg="Kubernetes cluster name" .*cluster="${CLUSTER}" source="kubeadm-config"`),
    );
    // One operator leads through the Lease, the other stands by.
    const holder = await leader();
    assert.deepEqual(
      operators().map((o) => o.child.stderr().includes(ACQUIRED)),
      operators().map((o) => o === holder),
    );
    // The chart's securityContexts as a runtime applies them: the agent works with exactly the
    // chart's capabilities, the operators run as their non-root user.
    const status = (r: ContainerRun) => readFileSync(`/proc/${r.child.pid}/status`, "utf8");
    const expected = AGENT_CAPABILITIES.reduce((m, c) => m | (1n << CAP_BITS[c]!), 0n);
    assert.match(
      status(container(`${AGENT}-`)),
      new RegExp(`^CapEff:\\s+0*${expected.toString(16)}$`, "m"),
    );
    for (const o of operators()) {
      assert.match(status(o), /^Uid:\s+65532\s+65532\s+65532\s+65532$/m);
    }
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

  it("keeps the selection while the standby takes over from the deleted leader", async () => {
    const old = await leader();
    const standbys = operators().filter((o) => o !== old);
    assert.equal(standbys.length, 1, kubelet.report());
    const standby = standbys[0]!;
    assert.equal(standby.child.stderr().includes(ACQUIRED), false);
    const transitions: number = (await lease()).spec.leaseTransitions;
    const pushes = () =>
      agent().child.stderr().split('msg="control: selector set in force"').length;
    const before = pushes();
    // As `kubectl drain` does, the Node is cordoned first: the Deployment's replacement Pod
    // cannot start, so the standby is the only candidate for the Lease. (Uncordoned, the
    // replacement starts within a second here and may take the Lease before the standby's
    // next try, every retryPeriod, 2 s: either is a correct takeover.)
    await cp.kubectl(["cordon", node]);
    try {
      await cp.kubectl(["delete", "pod", old.pod, ...ns, "--timeout=60s"]);
      assert.equal(old.child.proc.exitCode, 0, `the operator stops cleanly:\n${kubelet.report()}`);
      assert.match(old.child.stderr(), /msg="leader election: released the lease"/);
      assert.equal(await countAfter(pay, 5, 16), 16);
      const taken: Json = await until("the standby to take the Lease", async () => {
        const l: Json = await lease();
        return l.spec.holderIdentity === standby.pod ? l : undefined;
      });
      assert.equal(taken.spec.leaseTransitions, transitions + 1);
      // The new leader pushes the set the agent holds (version kept on the Lease): no re-apply.
      await until("the new leader's push", async () => pushes() > before || undefined);
      assert.equal(released(pay), false);
      await until("the replacement Pod, unschedulable on the cordoned Node", async () => {
        const list: Json = await cp.getJson(["pods", ...ns, "-l", OPERATOR_SELECTOR]);
        const waiting = list.items.filter((p: Json) => p.metadata.name !== standby.pod);
        const scheduled = waiting[0]?.status.conditions?.find(
          (c: Json) => c.type === "PodScheduled",
        );
        return waiting.length === 1 && waiting[0].spec.nodeName === undefined
          ? scheduled?.reason === "Unschedulable" || undefined
          : undefined;
      });
      assert.deepEqual(
        operators().map((o) => o.pod),
        [standby.pod],
      );
    } finally {
      await cp.kubectl(["uncordon", node]);
    }
    const next = await until("the replacement Pod running and ready", async () => {
      const r = operators().find((o) => o !== standby);
      return r !== undefined && (await podReady(r)) ? r : undefined;
    });
    assert.notEqual(next.pod, old.pod);
    assert.notEqual(next.child.pid, old.child.pid);
    assert.notEqual(next.podIP, old.podIP);
    // It stands by: the Lease stays with the standby that took over.
    assert.equal((await leader()).pod, standby.pod);
    assert.equal(next.child.stderr().includes(ACQUIRED), false);
    assert.equal(await countAfter(pay, 5, 21), 21);
    assert.equal((await lease()).spec.leaseTransitions, transitions + 1);
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
    // Its pull at start reached the operator by its Service name (ClusterIP), over the chart's
    // TLS Secret: the leader, the oldest ready operator Pod, which the mini-kube-proxy always
    // picks (a balancing kube-proxy would pick the standby, which answers 503, half the time).
    // The pull logs its outcome just after applying the set, so after "instrumenting": wait for
    // the outcome, whichever it is.
    const pull = await until("the outcome of the agent's pull at start", async () => {
      const outcome =
        /msg="(selector set pulled from the operator|no selector set pulled at start[^"]*)"/;
      return outcome.exec(agent().child.stderr())?.[1];
    });
    assert.equal(pull, "selector set pulled from the operator");
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
    // Two agents and three operators ran (the agent and the leader replaced), and all stopped
    // cleanly on SIGTERM.
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
        [OPERATOR, 0],
      ],
      kubelet.report(),
    );
    assert.equal(kubelet.restartCount(), 0, kubelet.report());
  });
});

/**
 * What an administrator provides before `helm install`: the namespace with the control
 * channel's TLS Secret (one certificate for the agents, reached by Pod IP: it names every IP
 * of the Node's Pod range; and for the operator, reached by its Service name), and kubeadm's
 * ClusterConfiguration.
 */
async function createPrerequisites(
  cp: ControlPlane,
  dir: string,
  podIPs: readonly string[],
): Promise<void> {
  await cp.kubectl(["create", "namespace", NAMESPACE]);
  const names = [...podIPs.map((ip) => `IP:${ip}`), `DNS:${OPERATOR}.${NAMESPACE}.svc`];
  const certs = makeCertificates(dir, names.join(","));
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
