/**
 * The whole control path with real parts: `kubectl apply` of a BeylaInstrumentation → the
 * real operator (its ServiceAccount, leader Lease) → HTTPS push to the real agent (TokenReview)
 * → discovery selects the pod's process → exact metrics with k8s labels; then deletion stops it.
 */
import assert from "node:assert/strict";
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
import { select, total } from "./helpers/prom-text.js";

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
  let dir: string;
  const cgroups: ContainerCgroup[] = [];
  const workloads: Workload[] = [];

  /** A pod of `ns` labelled app=web, its server running in the pod's container cgroup. */
  async function workload(ns: string): Promise<Workload> {
    await cp.apply(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"${ns}"}}`);
    const id = containerId();
    const uid = await createPod(
      cp,
      podManifest({ ns, name: "web-0", node: NODE, container: "web", labels: { app: "web" } }),
    );
    await reportRunning(cp, ns, "web-0", "web", id, "127.0.0.1");
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
    agent = await startAgent({
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
      },
    });
    await registerAgentPod(cp, "beyla-agent-0", NODE, controlPort);
    startOperator({ ids, certs, port: await freePort(), identity: "operator-0" });
  });

  after(async () => {
    await agent?.stop();
    await stopAll();
    for (const c of cgroups) c.remove();
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("selects exactly the pods the resource names, reports it in status, and stops on delete", async () => {
    const [shop, pay] = workloads as [Workload, Workload];
    assert.equal(agent.child.stderr().includes('msg="instrumenting process"'), false);
    await cp.apply(`
apiVersion: beyla.io/v1alpha1
kind: BeylaInstrumentation
metadata: { name: web, namespace: shop }
spec:
  discovery:
    services:
      - kubernetes:
          namespace: "^sho"
          podLabels: { app: "^web$" }
`);
    await waitFor(
      "the agent to instrument the shop pod",
      () =>
        agent.child.stderr().includes(`msg="instrumenting process" pid=${shop.child.pid} `)
          ? true
          : undefined,
      20_000,
    );
    await run("ab", ["-q", "-k", "-n", "23", "-c", "2", `http://127.0.0.1:${shop.port}/users/1`]);
    await run("ab", ["-q", "-k", "-n", "9", "-c", "2", `http://127.0.0.1:${pay.port}/users/1`]);
    const labels = {
      server_port: String(shop.port),
      k8s_namespace_name: "shop",
      k8s_pod_name: "web-0",
    };
    const s = await agent.waitForSamples(
      "23 shop requests",
      (x) => total(x, DURATION, labels) >= 23,
    );
    await new Promise((r) => setTimeout(r, 400));
    const settled = await agent.samples();
    assert.equal(total(settled, DURATION, { ...labels, k8s_cluster_name: "e2e-control" }), 23);
    assert.deepEqual(select(s, DURATION, { server_port: String(pay.port) }), []);

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

    await cp.kubectl(["delete", "bi", "web", "-n", "shop"]);
    await waitFor(
      "the agent to release the shop process",
      () =>
        agent.child.stderr().includes(`msg="stopped instrumenting process" pid=${shop.child.pid} `)
          ? true
          : undefined,
      20_000,
    );
    await run("ab", ["-q", "-k", "-n", "5", "-c", "1", `http://127.0.0.1:${shop.port}/users/1`]);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(total(await agent.samples(), DURATION, labels), 23);
  });
});
