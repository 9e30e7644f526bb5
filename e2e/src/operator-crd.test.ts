/**
 * The operator end to end, against a real kube-apiserver: the CRD's schema and CEL rules at
 * `kubectl apply`, the operator as a real process with its ServiceAccount's least RBAC,
 * leader election on a Lease, the selector set pushed over HTTPS to the real control endpoint
 * (a stand-in agent process registered as a Ready Pod on 127.0.0.1), and the status the
 * operator writes from the agents' answers; an invalid edit that keeps the last valid
 * generation applied (across a restart), OTLP headers read from a Secret under least RBAC, and
 * the rotation of the operator's certificate files.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect } from "node:tls";
import { requestJson } from "@beyla-ts/shared";
import { startControlPlane, type ControlPlane } from "./helpers/kube.js";
import {
  CRD_FILE,
  OPERATOR_NS,
  createIdentities,
  headersSecretsRbac,
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
    appliedGeneration?: number;
    lastValid?: { generation: number; spec: unknown };
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

/** Accepted by the API server (Go's regexp, in the CRD's CEL rule); RE2 refuses it. */
const RE2_INVALID = { discovery: { services: [{ exePath: "(?P<n>a)(?P<n>b)" }] } };

/** The OTLP headers a HarnessEvent resource carries (resolved by the operator). */
type WithExport = { export?: { otlp?: { headers: Record<string, string> } } };

function headersSecret(name: string, data: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { namespace: "pay", name },
    stringData: data,
  });
}

/** The fingerprint of the certificate a new TLS connection to 127.0.0.1:port is given. */
function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const fp = socket.getPeerX509Certificate()?.fingerprint256 ?? "";
      socket.end();
      resolve(fp);
    });
    socket.on("error", reject);
  });
}

const fingerprintOf = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;

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
  /** The port of `operator`, the replica that leads. */
  let leaderPort = 0;
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
    // The operators started below inherit this environment: check the certificate files
    // every second instead of every minute.
    process.env["BEYLA_OPERATOR_TLS_RELOAD_PERIOD"] = "1s";
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
    leaderPort = operatorPort;
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
      /^generation 1 is invalid: config: BeylaInstrumentation shop\/bad-regex: field "spec\.discovery\.services\[0\]\.exePath": value "\(\?P<n>a\)\(\?P<n>b\)" is not a valid RE2 regular expression.*; nothing is applied$/,
    );
    assert.equal(cond(bad, "Ready")?.status, "False");
    assert.equal(bad.status?.processesSelected, 0);
    // Never valid: nothing applied, nothing kept.
    assert.equal(bad.status?.appliedGeneration, undefined);
    assert.equal(bad.status?.lastValid, undefined);
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

  it("keeps applying the last valid generation after an edit RE2 refuses, and says so", async () => {
    const cart1 = { discovery: { services: [{ exePath: "^/usr/bin/db$" }] } };
    await cp.apply(manifest("shop", "cart", cart1));
    const withCart = await waitFor("the set with shop/cart", () => {
      const e = lastApply();
      return names(e).join() === "shop/cart,shop/web" ? e : undefined;
    });
    assert.deepEqual(withCart.selected, [
      { namespace: "shop", name: "cart", processes: 1 },
      { namespace: "shop", name: "web", processes: 3 },
    ]);
    await waitFor("status of shop/cart", async () => {
      const b = await bi("shop", "cart");
      return cond(b, "Ready")?.status === "True" ? b : undefined;
    });
    const appliesBefore = applies().length;

    await cp.apply(manifest("shop", "cart", RE2_INVALID));
    const cart = await waitFor("status of generation 2", async () => {
      const b = await bi("shop", "cart");
      return b.status?.observedGeneration === 2 ? b : undefined;
    });
    assert.equal(cart.metadata.generation, 2);
    assert.equal(cart.status?.appliedGeneration, 1);
    assert.deepEqual(cart.status?.lastValid, { generation: 1, spec: cart1 });
    assert.equal(cart.status?.selectorSetVersion, withCart.version);
    assert.equal(cart.status?.nodes, "1/1");
    assert.equal(cart.status?.processesSelected, 1);
    assert.deepEqual(
      cart.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
      [
        [
          "Valid",
          "False",
          "InvalidSpec",
          'generation 2 is invalid: config: BeylaInstrumentation shop/cart: field "spec.discovery.services[0].exePath": value "(?P<n>a)(?P<n>b)" is not a valid RE2 regular expression (error parsing regexp: duplicate capture group name: `n`); allowed: an RE2 regular expression (https://github.com/google/re2/wiki/Syntax); generation 1 stays applied',
        ],
        [
          "Synced",
          "False",
          "InvalidSpec",
          "generation 2 is not applied; generation 1 is, by 1 of 1 agents",
        ],
        [
          "Ready",
          "False",
          "InvalidSpec",
          "generation 2 is not applied; generation 1 is, selecting 1 processes on 1 nodes",
        ],
      ],
    );
    assert.deepEqual(
      (cart.status?.conditions ?? []).map(
        (c) => (c as { observedGeneration?: number }).observedGeneration,
      ),
      [2, 2, 2],
    );
    // The agent keeps selecting with generation 1: nothing new applied, over a resync too.
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(applies().length, appliesBefore);
    const held = lastApply()?.resources?.find((r) => r.name === "cart");
    assert.equal(held?.generation, 1);
    assert.deepEqual(held?.spec, cart1);
  });

  it("keeps the agent's set across an operator restart and pushes the same content again", async () => {
    const held = lastApply();
    // shop/cart is invalid now: the restarted operator, without memory, learns of its
    // generation 1 from status.lastValid only. Without it the set would differ (no cart).
    assert.equal((await bi("shop", "cart")).metadata.generation, 2);
    assert.equal(held?.resources?.find((r) => r.name === "cart")?.generation, 1);
    const appliesBefore = applies().length;
    await operator?.stop();
    operator = startOperator({ ids, certs, port: operatorPort, identity: "operator-b" });
    leaderPort = operatorPort;
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
    // Its status: still generation 1 applied, by the one agent.
    const cart = await waitFor("status of shop/cart from operator-b", async () => {
      const b = await bi("shop", "cart");
      return cond(b, "Synced")?.message ===
        "generation 2 is not applied; generation 1 is, by 1 of 1 agents"
        ? b
        : undefined;
    });
    assert.equal(cart.status?.appliedGeneration, 1);
    assert.equal(cart.status?.observedGeneration, 2);
  });

  it("applies a fixed generation again, and drops the resource when deleted", async () => {
    const before = lastApply()?.version ?? 0;
    const cart3 = { discovery: { services: [{ exePath: "^/usr/bin/(db|web)$" }] } };
    await cp.apply(manifest("shop", "cart", cart3));
    const fixed = await waitFor("generation 3 of shop/cart", () => {
      const e = lastApply();
      return e?.resources?.find((r) => r.name === "cart")?.generation === 3 ? e : undefined;
    });
    assert.equal(fixed.version, before + 1);
    assert.deepEqual(
      fixed.selected?.find((r) => r.name === "cart"),
      {
        namespace: "shop",
        name: "cart",
        processes: 3,
      },
    );
    const cart = await waitFor("shop/cart ready", async () => {
      const b = await bi("shop", "cart");
      return b.status?.observedGeneration === 3 && cond(b, "Ready")?.status === "True"
        ? b
        : undefined;
    });
    assert.equal(cart.status?.appliedGeneration, 3);
    assert.deepEqual(cart.status?.lastValid, { generation: 3, spec: cart3 });
    assert.equal(cond(cart, "Valid")?.message, "the spec is valid");
    await cp.kubectl(["delete", "bi", "cart", "-n", "shop"]);
    const without = await waitFor("the set without shop/cart", () => {
      const e = lastApply();
      return names(e).join() === "shop/web" ? e : undefined;
    });
    assert.equal(without.version, before + 2);
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
    const standbyPort = await freePort();
    const standby = startOperator({ ids, certs, port: standbyPort, identity: "operator-c" });
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
    leaderPort = standbyPort;
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
    // headersFrom: the Secret, and get on it by name for the operator, as the chart grants it
    // with operator.rbac.headersSecrets=[{namespace: pay, names: [otlp-auth, otlp-nokey]}].
    await cp.apply(headersSecretsRbac("pay", ["otlp-auth", "otlp-nokey"]));
    await cp.apply(
      headersSecret("otlp-auth", {
        headers: "Authorization=Bearer%20e2e-token-1,X-Scope-OrgID=pay",
      }),
    );
    await cp.apply(manifest("pay", "full", full));
    const applied = await waitFor("the set with pay/full", () => {
      const e = lastApply();
      return names(e).includes("pay/full") ? e : undefined;
    });
    // Stored as written (nothing pruned by the schema), and parsed by the agent: the second
    // selector matches pay's web-1 (the first needs an annotation it does not have).
    const resource = applied.resources?.find((r) => r.name === "full");
    assert.deepEqual(resource?.spec, full);
    // The headers the operator read from the Secret, beside the spec.
    assert.deepEqual((resource as WithExport | undefined)?.export, {
      otlp: { headers: { Authorization: "Bearer e2e-token-1", "X-Scope-OrgID": "pay" } },
    });
    for (const r of applied.resources ?? []) {
      if (r.name !== "full") assert.equal((r as WithExport).export, undefined, r.name);
    }
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

  it("follows the Secret at resync, and reports a missing Secret or key or a forbidden one", async () => {
    const full = () => lastApply()?.resources?.find((r) => r.name === "full") as WithExport;
    const before = lastApply()?.version ?? 0;
    await cp.apply(headersSecret("otlp-auth", { headers: "Authorization=Bearer%20e2e-token-2" }));
    const rotated = await waitFor(
      "the rotated headers",
      () => {
        const e = lastApply();
        const r = e?.resources?.find((x) => x.name === "full") as WithExport | undefined;
        return r?.export?.otlp?.headers["Authorization"] === "Bearer e2e-token-2" ? e : undefined;
      },
      15_000,
    );
    assert.equal(rotated.version, before + 1);
    assert.deepEqual(full().export, { otlp: { headers: { Authorization: "Bearer e2e-token-2" } } });
    await waitFor("status of the rotation", async () => {
      const b = await bi("pay", "full");
      return (
        b.status?.selectorSetVersion === rotated.version && cond(b, "Ready")?.status === "True"
      );
    });

    // Deleted: the headers read before stay in force, and status says so.
    const appliesBefore = applies().length;
    await cp.kubectl(["delete", "secret", "otlp-auth", "-n", "pay"]);
    const gone = await waitFor(
      "status of the deleted Secret",
      async () => {
        const b = await bi("pay", "full");
        return cond(b, "Valid")?.status === "False" ? b : undefined;
      },
      15_000,
    );
    assert.deepEqual(
      gone.status?.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
      [
        [
          "Valid",
          "False",
          "SecretNotFound",
          "generation 1: Secret pay/otlp-auth (headersFrom) not found; generation 1 stays applied with the headers read before",
        ],
        [
          "Synced",
          "False",
          "SecretNotFound",
          "generation 1 is applied with the headers read before, by 2 of 2 agents",
        ],
        [
          "Ready",
          "False",
          "SecretNotFound",
          "generation 1 is applied with the headers read before, selecting 1 processes on 2 nodes",
        ],
      ],
    );
    assert.equal(gone.status?.appliedGeneration, 1);

    // A Secret without the key, and one the operator may not read: never applied.
    await cp.apply(headersSecret("otlp-nokey", { token: "e2e-token-3" }));
    const otlp = (secret: string) => ({
      discovery: { services: [{ openPorts: 8080 }] },
      export: {
        otlp: {
          endpoint: "http://otel-collector.monitoring:4318",
          headersFrom: { secretKeyRef: { name: secret } },
        },
      },
    });
    await cp.apply(manifest("pay", "nokey", otlp("otlp-nokey")));
    await cp.apply(manifest("pay", "locked", otlp("locked")));
    const valid = async (name: string) => {
      const b = await bi("pay", name);
      const c = cond(b, "Valid");
      return c === undefined ? undefined : [c.status, c.reason, c.message];
    };
    assert.deepEqual(await waitFor("status of pay/nokey", () => valid("nokey")), [
      "False",
      "SecretKeyNotFound",
      'generation 1: Secret pay/otlp-nokey has no key "headers" (headersFrom.secretKeyRef.key; its keys: token); nothing is applied',
    ]);
    assert.deepEqual(await waitFor("status of pay/locked", () => valid("locked")), [
      "False",
      "SecretForbidden",
      "generation 1: the operator may not read Secret pay/locked (headersFrom): grant its ServiceAccount get on it (the Helm chart value operator.rbac.headersSecrets); nothing is applied",
    ]);
    // Nothing else moved: same set (no re-apply), pay/full with the headers read before.
    assert.equal(names(lastApply()).join(), "pay/full,shop/db,shop/web");
    assert.equal(applies().length, appliesBefore);
    assert.deepEqual(full().export, { otlp: { headers: { Authorization: "Bearer e2e-token-2" } } });
    // No header value in any operator's log (they log at debug here).
    for (const [name, c] of logged) {
      if (name.startsWith("operator")) assert.doesNotMatch(c.stderr(), /e2e-token/, name);
    }
  });

  it("serves a rotated certificate to new connections, and keeps it for a partial file", async () => {
    const old = fingerprintOf(certs.operatorCert);
    assert.equal(await peerFingerprint(leaderPort), old);
    const fresh = makeCertificates(mkdtempSync(join(dir, "rotated-")));
    const want = fingerprintOf(fresh.operatorCert);
    const log = () => operator?.stderr() ?? "";

    // Half a certificate (a write caught midway): refused with a warning, the old one stays.
    const pem = readFileSync(fresh.operatorCert, "utf8");
    writeFileSync(certs.operatorCert, pem.slice(0, pem.length / 2));
    await waitFor("the warning", () =>
      log().includes('msg="cannot use the new serving certificate; keeping the previous one"'),
    );
    assert.equal(await peerFingerprint(leaderPort), old);

    // The whole pair, renamed into place as the kubelet does: the next handshakes get it.
    copyFileSync(fresh.operatorKey, `${certs.operatorKey}.new`);
    copyFileSync(fresh.operatorCert, `${certs.operatorCert}.new`);
    renameSync(`${certs.operatorKey}.new`, certs.operatorKey);
    renameSync(`${certs.operatorCert}.new`, certs.operatorCert);
    await waitFor("the new certificate", async () =>
      (await peerFingerprint(leaderPort)) === want ? true : undefined,
    );
    assert.ok(
      log().includes(
        `msg="serving certificate reloaded" file="${certs.operatorCert}" fingerprint="${want}"`,
      ),
      "the reload is logged with the new fingerprint",
    );
    // Verified with the new CA alone: the whole chain is served.
    const healthz = await requestJson({
      method: "GET",
      url: `https://127.0.0.1:${leaderPort}/healthz`,
      ca: readFileSync(fresh.caFile),
      timeoutMs: 5000,
    });
    assert.equal(healthz.status, 200);

    // The CA bundle that verifies the agents: a partial file keeps the bundle in force, and
    // pushes to the agent still verify.
    const ca = readFileSync(certs.caFile, "utf8");
    writeFileSync(certs.caFile, ca.slice(0, ca.length - 40));
    await waitFor("the CA warning", () =>
      log().includes('msg="cannot use the new agent CA bundle; keeping the previous one"'),
    );
    const t0 = Date.now();
    const from = log().length;
    await waitFor("a verified push after it", () =>
      readEvents(events).some((e) => e.event === "push" && e.status === 200 && e.at > t0),
    );
    assert.doesNotMatch(log().slice(from), /push failed/);
  });
});
