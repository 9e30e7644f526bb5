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
import { OtlpReceiver, type ReceivedSpan } from "@beyla-ts/agent/dist/testing/otlp-receiver.js";
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
  headersSecretsRbac,
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
import { parsePromText, total } from "./helpers/prom-text.js";

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
  let controlPort: number;
  /** The agent's own OTLP destination, and a team's named by a resource's spec.export. */
  let agentReceiver: OtlpReceiver;
  let teamReceiver: OtlpReceiver;
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

  const instrumenting = (a: AgentHandle, w: Workload, times = 1) =>
    a.child.stderr().split(`msg="instrumenting process" pid=${w.child.pid} `).length > times;
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

    agentReceiver = await OtlpReceiver.start();
    teamReceiver = await OtlpReceiver.start();
    controlPort = await freePort();
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
          OTEL_EXPORTER_OTLP_ENDPOINT: agentReceiver.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
          OTEL_METRIC_EXPORT_INTERVAL: "500",
          OTEL_BSP_SCHEDULE_DELAY: "200",
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
    await agentReceiver?.close();
    await teamReceiver?.close();
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

  it("applies a resource's attributes, metrics and export to the processes it selects", async () => {
    const [shop] = workloads as [Workload, Workload];
    // headersFrom: the Secret, and get on it by name for the operator (as the chart grants it).
    await cp.apply(headersSecretsRbac("shop", ["otlp-auth"]));
    await cp.apply(`
apiVersion: v1
kind: Secret
metadata: { name: otlp-auth, namespace: shop }
stringData: { headers: "Authorization=Bearer%20shop-token" }
`);
    const shopSpans = (r: OtlpReceiver) =>
      r.spans().filter((x) => x.attributes["server.port"] === shop.port);
    // The agent's own receiver has shop's 23 requests from the first test.
    assert.equal(shopSpans(agentReceiver).length, 23);
    const teamPort = await freePort();
    await cp.apply(WEB_IN_SHOP("^web$", EXPORTING(teamReceiver.url, teamPort)));
    await waitFor(
      "shop to be instrumented again",
      () => instrumenting(agent, shop, 2) || undefined,
    );
    await run("ab", ["-q", "-k", "-n", "13", "-c", "2", `http://127.0.0.1:${shop.port}/users/1`]);

    // Its traces and metrics go to the team's receiver, with the Secret's header.
    await waitFor("13 spans at the team's receiver", () => shopSpans(teamReceiver).length >= 13);
    const spans = shopSpans(teamReceiver);
    assert.equal(spans.length, 13);
    assert.deepEqual(new Set(spans.map(clusterAndRoute)), new Set(["shop-cluster /users/{id}"]));
    await waitFor("13 in the team's histogram", () => otlpCount(teamReceiver, shop.port) === 13);
    const auth = new Set(teamReceiver.requests().map((r) => r.headers["authorization"]));
    assert.deepEqual(auth, new Set(["Bearer shop-token"]));
    // Its series on its own scrape endpoint, with the resource's cluster name.
    const team = `http://127.0.0.1:${teamPort}/team-metrics`;
    const teamLabels = { ...labelsOf(shop), k8s_cluster_name: "shop-cluster" };
    assert.equal(total(await scrape(team), DURATION, teamLabels), 13);
    // Nothing of it at the agent's own destinations.
    assert.equal(total(await agent.samples(), DURATION, { server_port: String(shop.port) }), 23);
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(shopSpans(agentReceiver).length, 23);

    // Decoration off and HTTP metrics off: traces only, without k8s attributes.
    await cp.apply(
      WEB_IN_SHOP(
        "^web$",
        `${EXPORTING(teamReceiver.url, teamPort, '{ kubernetes: { enable: "false" } }')}
  metrics: { features: [application_span] }`,
      ),
    );
    await waitFor("shop redecorated", () =>
      agent.child
        .stderr()
        .includes(`msg="process follows new resource settings" pid=${shop.child.pid} `),
    );
    await run("ab", ["-q", "-k", "-n", "6", "-c", "2", `http://127.0.0.1:${shop.port}/users/1`]);
    await waitFor("19 spans at the team's receiver", () => shopSpans(teamReceiver).length >= 19);
    await new Promise((r) => setTimeout(r, 1000));
    const later = shopSpans(teamReceiver).slice(13);
    assert.equal(later.length, 6);
    assert.deepEqual(
      later.flatMap((x) => Object.keys(x.resource).filter((k) => k.startsWith("k8s."))),
      [],
    );
    assert.equal(otlpCount(teamReceiver, shop.port), 13);
    assert.equal(total(await scrape(team), DURATION, { server_port: String(shop.port) }), 13);

    // An export the agent cannot set up (the port of its control endpoint): refused, in status.
    await cp.apply(`
apiVersion: beyla.io/v1alpha1
kind: BeylaInstrumentation
metadata: { name: blocked, namespace: shop }
spec:
  discovery: { services: [{ kubernetes: { podLabels: { app: "^nothing$" } } }] }
  export: { prometheus: { port: ${controlPort} } }
`);
    const message = await waitFor("the refusal in status", async () => {
      const bi = await cp.getJson<{ status?: { conditions?: Condition[] } }>([
        "bi",
        "blocked",
        "-n",
        "shop",
      ]);
      const synced = bi.status?.conditions?.find((c) => c.type === "Synced");
      return synced?.status === "False" ? synced.message : undefined;
    });
    assert.match(
      message ?? "",
      new RegExp(
        `spec\\.export\\.prometheus\\.port: cannot serve port ${controlPort}: .*EADDRINUSE`,
      ),
    );
    await cp.kubectl(["delete", "bi", "blocked", "-n", "shop"]);

    // Back to a resource that selects nothing: the team's endpoint closes.
    await cp.apply(WEB_IN_SHOP("^api$"));
    await waitFor("shop to be released again", async () => {
      const closed = await fetch(team).then(
        () => false,
        () => true,
      );
      return closed || undefined;
    });
  });

  it("keeps counting a pod released and selected again within the removal grace", async () => {
    const [shop] = workloads as [Workload, Workload];
    const times = (msg: string) =>
      agent.child.stderr().split(`msg="${msg}" pid=${shop.child.pid} `).length - 1;
    const selected = times("instrumenting process");
    const released = times("stopped instrumenting process");
    await cp.apply(WEB_IN_SHOP("^web$"));
    await waitFor("shop selected", () => times("instrumenting process") > selected);
    await cp.apply(WEB_IN_SHOP("^api$"));
    await waitFor("shop released", () => times("stopped instrumenting process") > released);
    const releasedAt = Date.now();
    await cp.apply(WEB_IN_SHOP("^web$"));
    await waitFor("shop selected again", () => times("instrumenting process") > selected + 1);
    // The agent forgets a released process's identity 2 s after its release: this checks
    // that a process selected again before that keeps its new identity.
    const gap = Date.now() - releasedAt;
    assert.ok(gap < 2000, `selected again ${gap} ms after the release, not within the grace`);
    await new Promise((r) => setTimeout(r, 2500));
    const before = total(await agent.samples(), DURATION, { server_port: String(shop.port) });
    assert.equal(await countAfter(agent, shop, 5, before + 5), before + 5);
    await cp.apply(WEB_IN_SHOP("^api$"));
    await waitFor("shop released", () => times("stopped instrumenting process") > released + 1);
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

interface Condition {
  type: string;
  status: string;
  message?: string;
}

async function scrape(url: string): Promise<ReturnType<typeof parsePromText>> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return parsePromText(await response.text());
}

function clusterAndRoute(span: ReceivedSpan): string {
  return `${String(span.resource["k8s.cluster.name"])} ${String(span.attributes["http.route"])}`;
}

/** The newest cumulative count of http.server.request.duration for a server port. */
function otlpCount(receiver: OtlpReceiver, port: number): number {
  let count = 0;
  for (const m of receiver.metrics()) {
    if (m.name !== "http.server.request.duration") continue;
    for (const p of m.points) if (p.attributes["server.port"] === port) count = p.count ?? 0;
  }
  return count;
}

/** spec.export to a team's OTLP receiver (headers from shop/otlp-auth) and scrape endpoint. */
function EXPORTING(
  otlpUrl: string,
  promPort: number,
  attributes = '{ kubernetes: { enable: "true", clusterName: shop-cluster } }',
): string {
  return `
  attributes: ${attributes}
  export:
    otlp:
      endpoint: "${otlpUrl}"
      protocol: http/protobuf
      headersFrom: { secretKeyRef: { name: otlp-auth } }
    prometheus: { port: ${promPort}, path: /team-metrics }`;
}

function WEB_IN_SHOP(appRegex: string, more = ""): string {
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
    patterns: ["/users/{id}"]${more}
`;
}
