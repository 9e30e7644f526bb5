/**
 * The operator end to end, against a real kube-apiserver: the CRD's schema and CEL rules at
 * `kubectl apply`, the operator as a real process with its ServiceAccount's least RBAC,
 * leader election on a Lease, the selector set pushed over HTTPS to the real control endpoint
 * (a stand-in agent process registered as a Ready Pod on 127.0.0.1), and the status the
 * operator writes from the agents' answers.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startControlPlane, type ControlPlane } from "./helpers/kube.js";
import {
  CRD_FILE,
  OPERATOR_NS,
  createIdentities,
  makeCertificates,
  readEvents,
  registerAgentPod,
  setAgentPodReady,
  startAgentHarness,
  startOperator,
  type Certificates,
  type HarnessEvent,
  type Identities,
} from "./helpers/operator-cluster.js";
import { freePort, stopAll, waitFor as waitForProbe, type Child } from "./helpers/processes.js";

interface Bi {
  metadata: { generation: number };
  status?: {
    observedGeneration?: number;
    nodes?: string;
    nodesApplied?: number;
    nodesTotal?: number;
    processesSelected?: number;
    selectorSetVersion?: number;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

/** Processes the stand-in agent pretends to see on its node. */
const PROCESSES = [
  proc("/usr/bin/web", 8080, "shop", "web-1", { app: "web" }),
  proc("/usr/bin/web", 8080, "shop", "web-2", { app: "web" }),
  proc("/usr/bin/db", 5432, "shop", "db-0", { app: "db" }),
  proc("/usr/bin/web", 8080, "pay", "web-1", { app: "web" }),
];

function proc(
  exePath: string,
  port: number,
  namespace: string,
  podName: string,
  podLabels: Record<string, string>,
) {
  return { exePath, openPorts: [port], k8s: { namespace, podName, podLabels, podAnnotations: {} } };
}

const WEB_SPEC = {
  discovery: {
    services: [{ name: "web", openPorts: "8080", kubernetes: { podLabels: { app: "^web$" } } }],
  },
  routes: { patterns: ["/users/{id}"], unmatched: "heuristic" },
  attributes: { kubernetes: { enable: "true" } },
};

function manifest(namespace: string, name: string, spec: unknown): string {
  return JSON.stringify({
    apiVersion: "beyla.io/v1alpha1",
    kind: "BeylaInstrumentation",
    metadata: { namespace, name },
    spec,
  });
}

/** Processes whose logs a failed wait shows. */
const logged: [string, Child][] = [];

/** waitFor, with the tail of the operator's and agents' logs in the error. */
async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  try {
    return await waitForProbe(what, probe, timeoutMs);
  } catch (err) {
    const logs = logged.map(
      ([name, c]) => `--- ${name}\n${c.stderr().split("\n").slice(-25).join("\n")}`,
    );
    throw new Error(`${(err as Error).message}\n${logs.join("\n")}`, { cause: err });
  }
}

describe("operator against a real API server", { timeout: 240_000 }, () => {
  let cp: ControlPlane;
  let ids: Identities;
  let certs: Certificates;
  let dir: string;
  let operator: Child | undefined;
  let operatorPort = 0;
  let agentPort = 0;
  let events = "";

  const bi = (ns: string, name: string) =>
    cp.getJson<Bi>(["beylainstrumentations.beyla.io", name, "-n", ns]);
  const cond = (b: Bi, type: string) => b.status?.conditions?.find((c) => c.type === type);
  const applies = () => readEvents(events).filter((e) => e.event === "apply");
  const lastApply = () => applies().at(-1);
  const names = (e: HarnessEvent | undefined) =>
    (e?.resources ?? []).map((r) => `${r.namespace}/${r.name}`);

  before(async () => {
    cp = await startControlPlane();
    dir = mkdtempSync(join(tmpdir(), "beyla-e2e-operator-"));
    events = join(dir, "agent-events.jsonl");
    await cp.kubectl(["apply", "-f", CRD_FILE]);
    await cp.kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=30s",
      "crd/beylainstrumentations.beyla.io",
    ]);
    await cp.apply(
      "apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n---\napiVersion: v1\nkind: Namespace\nmetadata: { name: pay }\n",
    );
    ids = await createIdentities(cp, dir);
    certs = makeCertificates(dir);
    operatorPort = await freePort();
    agentPort = await freePort();
  });

  after(async () => {
    await stopAll();
    if (process.env["BEYLA_E2E_VERBOSE"] === "1") {
      for (const [name, c] of logged) process.stderr.write(`--- ${name}\n${c.stderr()}`);
    }
    await cp?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses bad enums, port ranges and route patterns at kubectl apply (schema and CEL)", async () => {
    const refused: [unknown, RegExp][] = [
      [
        { routes: { unmatched: "sometimes" } },
        /spec\.routes\.unmatched: Unsupported value: "sometimes"/,
      ],
      [
        { metrics: { features: ["logs"] } },
        /spec\.metrics\.features\[0\]: Unsupported value: "logs"/,
      ],
      [
        { discovery: { services: [{ openPorts: "9000-8000" }] } },
        /openPorts: a range low-high needs low <= high/,
      ],
      [
        { discovery: { services: [{ openPorts: "80,70000" }] } },
        /openPorts: every port must be between 1 and 65535/,
      ],
      [
        { discovery: { services: [{ openPorts: 0 }] } },
        /openPorts: every port must be between 1 and 65535/,
      ],
      [
        { routes: { patterns: ["/a/**/b"] } },
        /"\*\*" may only be the last segment of a route pattern/,
      ],
      [{ routes: { ignoredPatterns: ["health"] } }, /a route pattern must start with "\/"/],
      [
        { discovery: { services: [{ exePath: "(web" }] } },
        /exePath: Invalid value.*missing closing \)/,
      ],
      [
        { discovery: { services: [{ name: "only-a-name" }] } },
        /an entry needs at least one criterion/,
      ],
    ];
    for (const [spec, message] of refused) {
      await assert.rejects(
        cp.apply(manifest("shop", "refused", spec)),
        message,
        JSON.stringify(spec),
      );
    }
    assert.equal((await cp.kubectl(["get", "bi", "-n", "shop", "-o", "name"])).trim(), "");
  });

  it("pushes the exact selector set to the agent and reports 1/1 nodes and its processes", async () => {
    await registerAgentPod(cp, "beyla-agent-a", "e2e-node", agentPort);
    logged.push([
      "agent-a",
      startAgentHarness({
        ids,
        certs,
        port: agentPort,
        node: "e2e-node",
        eventsFile: events,
        processes: PROCESSES,
      }),
    ]);
    await waitFor("agent harness", () => readEvents(events).some((e) => e.event === "listening"));
    operator = startOperator({ ids, certs, port: operatorPort, identity: "operator-a" });
    logged.push(["operator-a", operator]);

    await cp.apply(manifest("shop", "web", WEB_SPEC));
    // Valid for Go's regexp (so the API server accepts it), invalid for RE2: duplicate group names.
    await cp.apply(
      manifest("shop", "bad-regex", { discovery: { services: [{ exePath: "(?P<n>a)(?P<n>b)" }] } }),
    );

    const applied = await waitFor(
      "the set with shop/web",
      () => {
        const e = lastApply();
        return names(e).join() === "shop/web" ? e : undefined;
      },
      20_000,
    );
    const [resource] = applied.resources ?? [];
    assert.deepEqual(resource?.spec, WEB_SPEC);
    assert.equal(resource?.generation, 1);
    assert.deepEqual(applied.selected, [{ namespace: "shop", name: "web", processes: 2 }]);

    const web = await waitFor(
      "status of shop/web",
      async () => {
        const b = await bi("shop", "web");
        return cond(b, "Ready")?.status === "True" ? b : undefined;
      },
      20_000,
    );
    assert.equal(web.status?.observedGeneration, 1);
    assert.equal(web.status?.nodes, "1/1");
    assert.equal(web.status?.nodesApplied, 1);
    assert.equal(web.status?.nodesTotal, 1);
    assert.equal(web.status?.processesSelected, 2);
    assert.equal(web.status?.selectorSetVersion, applied.version);
    assert.equal(cond(web, "Valid")?.status, "True");
    assert.equal(cond(web, "Synced")?.status, "True");

    const bad = await waitFor("status of shop/bad-regex", async () => {
      const b = await bi("shop", "bad-regex");
      return cond(b, "Valid") !== undefined ? b : undefined;
    });
    assert.equal(cond(bad, "Valid")?.status, "False");
    assert.equal(cond(bad, "Valid")?.reason, "InvalidSpec");
    assert.match(
      cond(bad, "Valid")?.message ?? "",
      /BeylaInstrumentation shop\/bad-regex: field "spec\.discovery\.services\[0\]\.exePath": value "\(\?P<n>a\)\(\?P<n>b\)" is not a valid RE2 regular expression/,
    );
    assert.equal(cond(bad, "Ready")?.status, "False");
    assert.equal(bad.status?.processesSelected, 0);
  });

  it("pushes a new version within seconds of an edit, and a cluster-wide resource", async () => {
    const before = lastApply()?.version ?? 0;
    const edited = { discovery: { services: [{ name: "shop", openPorts: "8080,5432" }] } };
    const t0 = Date.now();
    await cp.apply(manifest("shop", "web", edited));
    const applied = await waitFor("generation 2 of shop/web", () => {
      const e = lastApply();
      return e?.resources?.[0]?.generation === 2 ? e : undefined;
    });
    assert.ok(Date.now() - t0 < 5000, `pushed after ${Date.now() - t0} ms`);
    assert.equal(applied.version, before + 1);
    assert.deepEqual(applied.resources?.[0]?.spec, edited);
    // Confined to its namespace: web-1, web-2 and db-0 of shop, not pay's web-1.
    assert.deepEqual(applied.selected, [{ namespace: "shop", name: "web", processes: 3 }]);

    await cp.apply(
      manifest(OPERATOR_NS, "all-web", {
        discovery: { services: [{ exePath: "^/usr/bin/web$" }] },
      }),
    );
    const both = await waitFor("the cluster-wide resource", () => {
      const e = lastApply();
      return names(e).join() === `${OPERATOR_NS}/all-web,shop/web` ? e : undefined;
    });
    assert.deepEqual(both.selected, [
      { namespace: OPERATOR_NS, name: "all-web", processes: 3 },
      { namespace: "shop", name: "web", processes: 3 },
    ]);
    await waitFor("status of the edit", async () => {
      const b = await bi("shop", "web");
      return (
        b.status?.observedGeneration === 2 &&
        b.status.processesSelected === 3 &&
        cond(b, "Ready")?.status === "True"
      );
    });
    const all = await waitFor("status of all-web", async () => {
      const b = await bi(OPERATOR_NS, "all-web");
      return cond(b, "Ready")?.status === "True" ? b : undefined;
    });
    assert.equal(all.status?.processesSelected, 3);
  });

  it("pushes a set without a deleted resource", async () => {
    const before = lastApply()?.version ?? 0;
    await cp.kubectl(["delete", "bi", "all-web", "-n", OPERATOR_NS]);
    const applied = await waitFor("the set without all-web", () => {
      const e = lastApply();
      return names(e).join() === "shop/web" && (e?.version ?? 0) > before ? e : undefined;
    });
    assert.equal(applied.version, before + 1);
  });

  it("keeps the agent's set across an operator restart and pushes the same content again", async () => {
    const held = lastApply();
    const appliesBefore = applies().length;
    await operator?.stop();
    operator = startOperator({ ids, certs, port: operatorPort, identity: "operator-b" });
    logged.push(["operator-b", operator]);
    const t0 = Date.now();
    const push = await waitFor(
      "a push from the restarted operator",
      () => readEvents(events).find((e) => e.event === "push" && e.at >= t0),
      20_000,
    );
    assert.equal(push.status, 200);
    assert.equal(push.version, held?.version);
    assert.equal(push.hash, held?.hash);
    // Same content: nothing re-applied on the node.
    assert.equal(applies().length, appliesBefore);
    const lease = await cp.getJson<{ spec: { holderIdentity: string } }>([
      "lease",
      "beyla-operator",
      "-n",
      OPERATOR_NS,
    ]);
    assert.equal(lease.spec.holderIdentity, "operator-b");
  });

  it("serves a starting agent's pull, and pushes to it when it becomes Ready", async () => {
    const secondPort = await freePort();
    const secondEvents = join(dir, "agent-b-events.jsonl");
    await registerAgentPod(cp, "beyla-agent-b", "e2e-node-2", secondPort, false);
    startAgentHarness({
      ids,
      certs,
      port: secondPort,
      node: "e2e-node-2",
      eventsFile: secondEvents,
      processes: PROCESSES.slice(0, 1),
      pullUrl: `https://127.0.0.1:${operatorPort}/v1/selectors`,
    });
    const held = lastApply();
    const pulled = await waitFor(
      "the pull",
      () => readEvents(secondEvents).find((e) => e.event === "pull" || e.event === "pull-failed"),
      20_000,
    );
    assert.equal(pulled.event, "pull", pulled.error);
    assert.equal(pulled.version, held?.version);
    assert.equal(pulled.hash, held?.hash);
    const notReady = await waitFor("status with a not-ready agent", async () => {
      const b = await bi("shop", "web");
      return b.status?.nodes === "1/2" ? b : undefined;
    });
    assert.equal(cond(notReady, "Synced")?.status, "False");
    const t0 = Date.now();
    await setAgentPodReady(cp, "beyla-agent-b", true);
    await waitFor("a push to the agent that became Ready", () =>
      readEvents(secondEvents).some((e) => e.event === "push" && e.status === 200 && e.at >= t0),
    );
    const web = await waitFor("status over two nodes", async () => {
      const b = await bi("shop", "web");
      return b.status?.nodes === "2/2" && cond(b, "Ready")?.status === "True" ? b : undefined;
    });
    // 3 processes on the first node, 1 on the second.
    assert.equal(web.status?.processesSelected, 4);
  });

  it("hands over to a standby replica when the leader stops", async () => {
    const standby = startOperator({ ids, certs, port: await freePort(), identity: "operator-c" });
    logged.push(["operator-c", standby]);
    await new Promise((r) => setTimeout(r, 2000));
    const lease = await cp.getJson<{ spec: { holderIdentity: string } }>([
      "lease",
      "beyla-operator",
      "-n",
      OPERATOR_NS,
    ]);
    assert.equal(lease.spec.holderIdentity, "operator-b", "the standby must not take a held lease");
    await operator?.stop();
    operator = standby;
    await waitFor("operator-c to lead", async () => {
      const l = await cp.getJson<{ spec: { holderIdentity: string } }>([
        "lease",
        "beyla-operator",
        "-n",
        OPERATOR_NS,
      ]);
      return l.spec.holderIdentity === "operator-c";
    });
    const t0 = Date.now();
    const before = applies().length;
    await cp.apply(manifest("shop", "db", { discovery: { services: [{ openPorts: 5432 }] } }));
    const applied = await waitFor("the new leader's push", () => {
      const e = lastApply();
      return names(e).join() === "shop/db,shop/web" && (e?.at ?? 0) >= t0 ? e : undefined;
    });
    assert.equal(applies().length, before + 1);
    assert.deepEqual(applied.selected, [
      { namespace: "shop", name: "db", processes: 1 },
      { namespace: "shop", name: "web", processes: 3 },
    ]);
  });

  it("accepts a spec using every field, in the API server, the operator and the agent", async () => {
    const full = {
      discovery: {
        services: [
          {
            name: "checkout",
            namespace: "payments",
            openPorts: "8080,9000-9100",
            exePath: "/usr/bin/",
            kubernetes: {
              namespace: "^pay$",
              podName: "^web-",
              deploymentName: "web",
              replicasetName: "web-.*",
              statefulsetName: "db",
              daemonsetName: "ds",
              ownerName: "web",
              podLabels: { app: "^web$" },
              podAnnotations: { "beyla.io/instrument": "true" },
            },
          },
          { openPorts: 8080, kubernetes: { podLabels: { app: "web" } } },
        ],
        excludeServices: [{ exePath: "/usr/bin/db" }],
      },
      attributes: { kubernetes: { enable: "autodetect", clusterName: "e2e" } },
      routes: {
        patterns: ["/users/{id}", "/orders/:id/items", "/static/*", "/api/**"],
        ignoredPatterns: ["/health", "/metrics"],
        ignoreMode: "traces",
        unmatched: "wildcard",
      },
      metrics: {
        features: [
          "application",
          "application_span",
          "application_service_graph",
          "application_process",
          "network",
        ],
        instrumentations: ["http", "grpc", "sql", "redis", "kafka"],
        network: { enabled: true },
      },
      export: {
        otlp: {
          endpoint: "http://otel-collector.monitoring:4318",
          protocol: "http/protobuf",
          headersFrom: { secretKeyRef: { name: "otlp-auth", key: "headers" } },
        },
        prometheus: { port: 9400, path: "/metrics" },
      },
    };
    await cp.apply(manifest("pay", "full", full));
    const applied = await waitFor("the set with pay/full", () => {
      const e = lastApply();
      return names(e).includes("pay/full") ? e : undefined;
    });
    // Stored as written (nothing pruned by the schema), and parsed by the agent: the second
    // selector matches pay's web-1 (the first needs an annotation it does not have).
    assert.deepEqual(applied.resources?.find((r) => r.name === "full")?.spec, full);
    assert.deepEqual(
      applied.selected?.find((s) => s.name === "full"),
      { namespace: "pay", name: "full", processes: 1 },
    );
    const status = await waitFor("status of pay/full", async () => {
      const b = await bi("pay", "full");
      return cond(b, "Ready")?.status === "True" ? b : undefined;
    });
    assert.equal(cond(status, "Valid")?.status, "True");
  });
});
