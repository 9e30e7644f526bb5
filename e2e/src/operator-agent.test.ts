/**
 * The whole control path with real parts: `kubectl apply` of a BeylaInstrumentation → the
 * real operator (its ServiceAccount, leader Lease) → HTTPS push to the real agent (TokenReview)
 * → discovery selects the pod's process → exact metrics with k8s labels; then deletion stops it.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startAgent, type AgentHandle } from "./helpers/agent.js";
import { startControlPlane, type ControlPlane } from "./helpers/kube.js";
import {
  cgroupMounts,
  createContainerCgroup,
  startInCgroup,
  type ContainerCgroup,
} from "./helpers/kube-cgroup.js";
import { containerId, createPod, podManifest, reportRunning } from "./helpers/kube-pods.js";
import {
  AUDIENCE,
  CRD_FILE,
  createIdentities,
  makeCertificates,
  OPERATOR_NS,
  registerAgentPod,
  startOperator,
} from "./helpers/operator-cluster.js";
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
const NODE = "e2e-node-control";

interface Workload {
  ns: string;
  port: number;
  child: Child;
}

describe("a BeylaInstrumentation drives the real agent through the real operator", () => {
  let cp: ControlPlane;
  let agent: AgentHandle;
  let operator: Child;
  let dir: string;
  let startOperatorAgain: () => Child;
  let startAgentAgain: () => Promise<AgentHandle>;
  const cgroups: ContainerCgroup[] = [];
  const workloads: Workload[] = [];

  /**
   * A pod of `ns` labelled app=web and owned by ReplicaSet web-7c9d8f6b5 (Deployment "web"),
   * its server running in the pod's container cgroup.
   */
  async function workload(ns: string): Promise<Workload> {
    await cp.apply(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"${ns}"}}`);
    const id = containerId();
    const pod = "web-7c9d8f6b5-x7k2p";
    const owner = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      name: "web-7c9d8f6b5",
      uid: randomUUID(),
    };
    const labels = { app: "web", "pod-template-hash": "7c9d8f6b5" };
    const uid = await createPod(
      cp,
      podManifest({ ns, name: pod, node: NODE, container: "web", labels, owner }),
    );
    await reportRunning(cp, ns, pod, "web", id, "127.0.0.1");
    const cgroup = createContainerCgroup("v2-systemd", uid, id, cgroupMounts());
    assert.ok(cgroup, "needs a cgroup v2 hierarchy");
    cgroups.push(cgroup);
    const port = await freePort();
    const child = startInCgroup(cgroup, process.execPath, [SERVER, String(port)]);
    await waitForPort(port);
    const w = { ns, port, child };
    workloads.push(w);
    return w;
  }

  const instrumenting = (a: AgentHandle, w: Workload) =>
    a.child.stderr().includes(`msg="instrumenting process" pid=${w.child.pid} `);
  const released = (a: AgentHandle, w: Workload) =>
    a.child.stderr().includes(`msg="stopped instrumenting process" pid=${w.child.pid} `);
  const labelsOf = (w: Workload) => ({
    server_port: String(w.port),
    k8s_namespace_name: w.ns,
    k8s_pod_name: "web-7c9d8f6b5-x7k2p",
    k8s_deployment_name: "web",
    k8s_cluster_name: "e2e-control",
  });

  /** Sends `n` requests to `w` and returns the agent's exact count for it afterwards. */
  async function countAfter(
    a: AgentHandle,
    w: Workload,
    n: number,
    expected: number,
  ): Promise<number> {
    await run("ab", ["-q", "-k", "-n", String(n), "-c", "2", `http://127.0.0.1:${w.port}/users/1`]);
    if (expected > 0) {
      await a.waitForSamples(
        `${expected} requests of ${w.ns}`,
        (x) => total(x, DURATION, labelsOf(w)) >= expected,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
    return total(await a.samples(), DURATION, { server_port: String(w.port) });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "beyla-e2e-control-"));
    cp = await startControlPlane();
    await cp.apply(readFileSync(CRD_FILE, "utf8"));
    await cp.kubectl(["wait", "--for=condition=Established", "crd/beylainstrumentations.beyla.io"]);
    const ids = await createIdentities(cp, dir);
    const certs = makeCertificates(dir);
    await cp.apply(`{"apiVersion":"v1","kind":"Node","metadata":{"name":"${NODE}"}}`);
    await workload("shop");
    await workload("pay");

    const controlPort = await freePort();
    const operatorPort = await freePort();
    startAgentAgain = () =>
      startAgent({
        env: {
          KUBECONFIG: cp.kubeconfig,
          NODE_NAME: NODE,
          BEYLA_KUBE_METADATA_ENABLE: "true",
          BEYLA_KUBE_CLUSTER_NAME: "e2e-control",
          BEYLA_CONTROL_PORT: String(controlPort),
          BEYLA_CONTROL_OPERATOR_USERNAME: `system:serviceaccount:${OPERATOR_NS}:beyla-operator`,
          BEYLA_CONTROL_AUDIENCE: AUDIENCE,
          BEYLA_CONTROL_TLS_CERT_FILE: certs.agentCert,
          BEYLA_CONTROL_TLS_KEY_FILE: certs.agentKey,
          BEYLA_CONTROL_OPERATOR_URL: `https://127.0.0.1:${operatorPort}/v1/selectors`,
          BEYLA_CONTROL_TOKEN_FILE: ids.agentControlToken,
          BEYLA_CONTROL_CA_FILE: certs.caFile,
        },
      });
    startOperatorAgain = () =>
      startOperator({ ids, certs, port: operatorPort, identity: `operator-${Date.now()}` });
    agent = await startAgentAgain();
    await registerAgentPod(cp, "beyla-agent-0", NODE, controlPort);
    operator = startOperatorAgain();
  });

  after(async () => {
    await agent?.stop();
    await stopAll();
    for (const c of cgroups) c.remove();
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("selects exactly the pod the resource names, with its k8s labels, and reports it in status", async () => {
    const [shop, pay] = workloads as [Workload, Workload];
    assert.equal(agent.child.stderr().includes('msg="instrumenting process"'), false);
    await cp.apply(WEB_IN_SHOP("^web$"));
    await waitFor(
      "the agent to instrument the shop pod",
      () => (instrumenting(agent, shop) ? true : undefined),
      20_000,
    );
    assert.equal(await countAfter(agent, shop, 23, 23), 23);
    // The resource's own routes (spec.routes), not the agent's heuristic "/users/*".
    const shopRoutes = { ...labelsOf(shop), http_route: "/users/{id}" };
    assert.equal(total(await agent.samples(), DURATION, shopRoutes), 23);
    assert.equal(await countAfter(agent, pay, 9, 0), 0);
    const status = await waitFor(
      "status to report the selection",
      async () => {
        const bi = await cp.getJson<{ status?: Record<string, unknown> }>([
          "bi",
          "web",
          "-n",
          "shop",
        ]);
        const st = bi.status ?? {};
        return st["processesSelected"] === 1 && st["nodesApplied"] === 1 ? st : undefined;
      },
      20_000,
    );
    assert.equal(status["nodesTotal"], 1);
  });

  it("follows an edit of the resource within seconds, and a cluster-wide resource", async () => {
    const [shop, pay] = workloads as [Workload, Workload];
    const t0 = Date.now();
    await cp.apply(WEB_IN_SHOP("^api$"));
    await waitFor("shop to be released", () => (released(agent, shop) ? true : undefined), 20_000);
    assert.ok(Date.now() - t0 < 10_000, `released after ${Date.now() - t0} ms`);
    assert.equal(await countAfter(agent, shop, 4, 0), 23);
    // A resource in the operator's namespace selects in every namespace.
    await cp.apply(`
apiVersion: beyla.io/v1alpha1
kind: BeylaInstrumentation
metadata: { name: pay-everywhere, namespace: ${OPERATOR_NS} }
spec:
  discovery:
    services:
      - kubernetes: { namespace: "^pay$", deploymentName: "^web$" }
`);
    await waitFor(
      "pay to be instrumented",
      () => (instrumenting(agent, pay) ? true : undefined),
      20_000,
    );
    assert.equal(await countAfter(agent, pay, 11, 11), 11);
    // pay-everywhere has no routes of its own: the agent's (heuristic) routes apply.
    const payRoutes = { ...labelsOf(pay), http_route: "/users/*" };
    assert.equal(total(await agent.samples(), DURATION, payRoutes), 11);
  });

  it("keeps the selection while the operator restarts", async () => {
    const [, pay] = workloads as [Workload, Workload];
    await operator.stop();
    assert.equal(await countAfter(agent, pay, 5, 16), 16);
    operator = startOperatorAgain();
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(released(agent, pay), false);
    assert.equal(await countAfter(agent, pay, 5, 21), 21);
  });

  it("gives a restarted agent its selection back from the operator", async () => {
    const [, pay] = workloads as [Workload, Workload];
    await agent.stop();
    agent = await startAgentAgain();
    await waitFor(
      "the new agent to instrument pay",
      () => (instrumenting(agent, pay) ? true : undefined),
      20_000,
    );
    assert.equal(await countAfter(agent, pay, 7, 7), 7);
  });

  it("stops instrumenting when the resources are deleted", async () => {
    const [, pay] = workloads as [Workload, Workload];
    await cp.kubectl(["delete", "bi", "--all", "-A"]);
    await waitFor("pay to be released", () => (released(agent, pay) ? true : undefined), 20_000);
    assert.equal(await countAfter(agent, pay, 5, 0), 7);
  });
});

function WEB_IN_SHOP(appRegex: string): string {
  return `
apiVersion: beyla.io/v1alpha1
kind: BeylaInstrumentation
metadata: { name: web, namespace: shop }
spec:
  discovery:
    services:
      - kubernetes:
          namespace: "^sho"
          podLabels: { app: "${appRegex}" }
  routes:
    patterns: ["/users/{id}"]
`;
}
