import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { selectorSetHash } from "@beyla-ts/shared";
import type { Lease } from "./kube/leader-election.js";
import { silentLog } from "./logger.js";
import { Operator, type OperatorConfig } from "./operator.js";
import { KubeApiError } from "./kube/rest.js";
import { HASH_ANNOTATION, VERSION_ANNOTATION } from "./selector-sets.js";
import type { InstrumentationStatus } from "./status.js";
import { FakeAgent } from "./testing/fake-agent.js";
import { FakeKube } from "./testing/fake-kube.js";
import { RecordingLog } from "./testing/recording-log.js";

const BI = (ns: string) => `/apis/beyla.io/v1alpha1/namespaces/${ns}/beylainstrumentations`;
const PODS = "/api/v1/namespaces/beyla/pods";
const LEASES = "/apis/coordination.k8s.io/v1/namespaces/beyla/leases";
const SECRETS = "/api/v1/namespaces/shop/secrets";
/** Go's regexp accepts it (so would the API server's CEL), RE2 does not: duplicate names. */
const RE2_INVALID = { discovery: { services: [{ exePath: "(?P<n>a)(?P<n>b)" }] } };

const WEB_SPEC = { discovery: { services: [{ openPorts: "8080" }] } };

function bi(ns: string, name: string, spec: unknown, generation = 1) {
  return { metadata: { namespace: ns, name, uid: `uid-${name}`, generation }, spec };
}

function headersSecret(name: string, text: string) {
  return {
    metadata: { name, namespace: "shop" },
    data: { headers: Buffer.from(text).toString("base64") },
  };
}

const withHeaders = (secret: string) => ({
  ...WEB_SPEC,
  export: {
    otlp: { endpoint: "http://collector:4318", headersFrom: { secretKeyRef: { name: secret } } },
  },
});

async function until<T>(what: string, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("Operator", () => {
  let dir: string;
  let kube: FakeKube;
  let agent: FakeAgent;
  let operator: Operator | undefined;
  let config: OperatorConfig;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "beyla-operator-"));
    writeFileSync(join(dir, "token"), "op-token");
    kube = new FakeKube();
    agent = new FakeAgent();
    const port = await agent.listen();
    kube.put(PODS, {
      metadata: { name: "agent-1", namespace: "beyla", labels: { app: "agent" } },
      spec: {
        nodeName: "n1",
        containers: [{ name: "a", ports: [{ name: "control", containerPort: port }] }],
      },
      status: {
        phase: "Running",
        podIP: "127.0.0.1",
        conditions: [{ type: "Ready", status: "True" }],
      },
    });
    config = {
      namespace: "beyla",
      agentNamespace: "beyla",
      agentSelector: "app=agent",
      agentPort: 1,
      agentServiceAccount: "beyla-agent",
      tokenFile: join(dir, "token"),
      agentInsecureSkipVerify: false,
      agentScheme: "http",
      leaseName: "op",
      identity: "op-1",
      leaseDurationMs: 3000,
      renewDeadlineMs: 2000,
      retryPeriodMs: 50,
      resyncMs: 60_000,
      watchdogMs: 60_000,
    };
  });

  afterEach(async () => {
    await operator?.stop();
    operator = undefined;
    agent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = (ns: string, name: string) =>
    (kube.get(BI(ns), name) as { status?: InstrumentationStatus } | undefined)?.status;
  const condition = (ns: string, name: string, type: string) =>
    status(ns, name)?.conditions.find((c) => c.type === type);

  it("pushes the valid resources, and writes status from the agent's answer", async () => {
    kube.put(BI("shop"), bi("shop", "web", WEB_SPEC));
    kube.put(BI("shop"), bi("shop", "bad", { discovery: { services: [{ exePath: "(" }] } }));
    kube.put(BI("beyla"), bi("beyla", "all", { discovery: { services: [{ exePath: "x" }] } }));
    agent.processes = { web: 2, all: 5 };
    operator = new Operator(config, {
      client: kube,
      review: async () => ({ authenticated: false }),
      log: silentLog,
    });
    await operator.start();

    const pushed = await until("a push", () => agent.received[0]);
    assert.equal(pushed.token, "Bearer op-token");
    assert.deepEqual(
      pushed.set.resources.map((r) => [r.namespace, r.name, r.clusterWide, r.spec]),
      [
        ["beyla", "all", true, { discovery: { services: [{ exePath: "x" }] } }],
        ["shop", "web", false, WEB_SPEC],
      ],
    );
    assert.equal(pushed.set.version, 1);

    await until("status of web", () => condition("shop", "web", "Ready")?.status === "True");
    assert.equal(status("shop", "web")?.nodes, "1/1");
    assert.equal(status("shop", "web")?.processesSelected, 2);
    assert.equal(status("beyla", "all")?.processesSelected, 5);
    await until("status of bad", () => condition("shop", "bad", "Valid")?.status === "False");
    assert.match(
      condition("shop", "bad", "Valid")?.message ?? "",
      /spec\.discovery\.services\[0\]\.exePath/,
    );

    // Status is not written again when nothing changed.
    const patches = () => kube.calls.filter((c) => c.method === "PATCH").length;
    const before = patches();
    kube.put(BI("shop"), { ...bi("shop", "web", WEB_SPEC), status: status("shop", "web") });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(patches(), before);
  });

  it("pushes a new version on an edit and on a deletion", async () => {
    kube.put(BI("shop"), bi("shop", "web", WEB_SPEC));
    operator = new Operator(config, {
      client: kube,
      review: async () => ({ authenticated: false }),
      log: silentLog,
    });
    await operator.start();
    await until("version 1", () => agent.version === 1);
    kube.put(
      BI("shop"),
      bi("shop", "web", { discovery: { services: [{ openPorts: "9090" }] } }, 2),
    );
    await until("version 2", () => agent.version === 2);
    assert.equal(agent.received.at(-1)?.set.resources[0]?.generation, 2);
    kube.remove(BI("shop"), "web");
    await until("version 3", () => agent.version === 3);
    assert.deepEqual(agent.received.at(-1)?.set.resources, []);
    await until(
      "the version kept on the Lease",
      () =>
        (kube.get(LEASES, "op") as Lease | undefined)?.metadata.annotations?.[
          VERSION_ANNOTATION
        ] === "3",
    );
  });

  it("after a restart, pushes the set the agents hold with the same version", async () => {
    const resource = {
      namespace: "shop",
      name: "web",
      uid: "uid-web",
      generation: 1,
      clusterWide: false,
      spec: WEB_SPEC,
    };
    const hash = selectorSetHash([resource]);
    kube.put(LEASES, {
      metadata: {
        name: "op",
        namespace: "beyla",
        annotations: { [VERSION_ANNOTATION]: "17", [HASH_ANNOTATION]: hash },
      },
      spec: { holderIdentity: null },
    });
    agent.version = 17;
    agent.hash = hash;
    agent.processes = { web: 1 };
    // What the previous operator wrote: applied everywhere.
    const synced = {
      type: "Synced",
      status: "True",
      reason: "Applied",
      message: "applied by 1 of 1 agents (selector set version 17)",
      observedGeneration: 1,
      lastTransitionTime: "2026-11-23T10:00:00Z",
    };
    kube.put(BI("shop"), {
      ...bi("shop", "web", WEB_SPEC),
      status: { observedGeneration: 1, nodesApplied: 1, nodesTotal: 1, conditions: [synced] },
    });
    operator = new Operator(config, {
      client: kube,
      review: async () => ({ authenticated: false }),
      log: silentLog,
    });
    await operator.start();
    const pushed = await until("a push", () => agent.received[0]);
    assert.equal(pushed.set.version, 17);
    assert.equal(pushed.set.hash, hash);
    assert.equal(agent.received.length, 1);
    // Before the agent answered the new operator, the status did not go to "0 of 1".
    await until("status from the answer", () => status("shop", "web")?.processesSelected === 1);
    const written = kube.calls
      .filter((c) => c.method === "PATCH")
      .map((c) => (c.body as { value: InstrumentationStatus }[])[0]!.value);
    assert.deepEqual(
      written.map((w) => w.conditions.find((c) => c.type === "Synced")?.message),
      ["applied by 1 of 1 agents (selector set version 17)"],
    );
    assert.equal(
      written[0]!.conditions.find((c) => c.type === "Synced")?.lastTransitionTime,
      synced.lastTransitionTime,
    );
  });

  it("re-versions above an agent that holds a newer set", async () => {
    agent.version = 40;
    agent.hash = "sha256:unknown";
    kube.put(BI("shop"), bi("shop", "web", WEB_SPEC));
    operator = new Operator(config, {
      client: kube,
      review: async () => ({ authenticated: false }),
      log: silentLog,
    });
    await operator.start();
    await until("version 41", () => agent.version === 41);
    assert.equal(operator.currentSet?.version, 41);
  });

  it("keeps applying the last valid generation after an invalid edit, across a restart", async () => {
    kube.put(BI("shop"), bi("shop", "web", WEB_SPEC));
    kube.put(BI("shop"), bi("shop", "never", RE2_INVALID));
    agent.processes = { web: 2 };
    const start = () =>
      new Operator(config, {
        client: kube,
        review: async () => ({ authenticated: false }),
        log: silentLog,
      });
    operator = start();
    await operator.start();
    await until("web ready", () => condition("shop", "web", "Ready")?.status === "True");
    const held = operator.currentSet;
    assert.equal(held?.version, 1);

    kube.put(BI("shop"), {
      ...bi("shop", "web", RE2_INVALID, 2),
      status: status("shop", "web"),
    });
    await until("web invalid", () => condition("shop", "web", "Valid")?.status === "False");
    // The set keeps generation 1 of web: same content, same version, nothing pushed anew.
    assert.deepEqual(operator.currentSet, held);
    assert.deepEqual(
      operator.currentSet?.resources.map((r) => [r.name, r.generation, r.spec]),
      [["web", 1, WEB_SPEC]],
    );
    const s = status("shop", "web");
    assert.equal(s?.observedGeneration, 2);
    assert.equal(s?.appliedGeneration, 1);
    assert.deepEqual(s?.lastValid, { generation: 1, spec: WEB_SPEC });
    assert.equal(s?.nodes, "1/1");
    assert.equal(s?.processesSelected, 2);
    assert.deepEqual(
      s?.conditions.map((c) => [c.type, c.status, c.reason, c.observedGeneration]),
      [
        ["Valid", "False", "InvalidSpec", 2],
        ["Synced", "False", "InvalidSpec", 2],
        ["Ready", "False", "InvalidSpec", 2],
      ],
    );
    assert.match(
      condition("shop", "web", "Valid")?.message ?? "",
      /^generation 2 is invalid: config: BeylaInstrumentation shop\/web: field "spec\.discovery\.services\[0\]\.exePath": .*; generation 1 stays applied$/,
    );
    assert.equal(
      condition("shop", "web", "Synced")?.message,
      "generation 2 is not applied; generation 1 is, by 1 of 1 agents",
    );
    // Never valid: nothing in the set, nothing kept.
    assert.equal(status("shop", "never")?.lastValid, undefined);
    assert.equal(status("shop", "never")?.appliedGeneration, undefined);

    // A restarted operator has no memory: it applies the generation kept in status.
    await operator.stop();
    const pushes = agent.received.length;
    operator = start();
    await operator.start();
    await until("a push from the new operator", () => agent.received.length > pushes);
    assert.deepEqual(agent.received.at(-1)?.set, held);
    assert.equal(agent.version, 1);

    // Fixed: the current generation is applied again.
    kube.put(BI("shop"), { ...bi("shop", "web", WEB_SPEC, 3), status: status("shop", "web") });
    await until("version 2", () => agent.version === 2);
    assert.equal(agent.received.at(-1)?.set.resources[0]?.generation, 3);
    await until("web ready again", () => condition("shop", "web", "Ready")?.status === "True");
    assert.equal(status("shop", "web")?.appliedGeneration, 3);
    assert.deepEqual(status("shop", "web")?.lastValid, { generation: 3, spec: WEB_SPEC });
  });

  it("sends the Secret's headers with the resource, follows a rotation, survives a missing one", async () => {
    kube.put(SECRETS, headersSecret("otlp", "Authorization=Bearer%20s3cret-one"));
    kube.put(BI("shop"), bi("shop", "web", withHeaders("otlp")));
    kube.put(BI("shop"), bi("shop", "db", { discovery: { services: [{ openPorts: "5432" }] } }));
    kube.put(BI("shop"), bi("shop", "lost", withHeaders("nope")));
    kube.put(BI("shop"), bi("shop", "locked", withHeaders("locked")));
    kube.failures.push({
      match: (c) => c.path === `${SECRETS}/locked`,
      error: new KubeApiError(403, "Forbidden", "forbidden"),
      times: 1000,
    });
    const log = new RecordingLog();
    operator = new Operator(
      { ...config, resyncMs: 100 },
      { client: kube, review: async () => ({ authenticated: false }), log },
    );
    await operator.start();
    const first = await until("a push", () => agent.received[0]);
    assert.deepEqual(
      first.set.resources.map((r) => [r.name, r.export]),
      [
        ["db", undefined],
        ["web", { otlp: { headers: { Authorization: "Bearer s3cret-one" } } }],
      ],
    );
    await until("lost reported", () => condition("shop", "lost", "Valid")?.status === "False");
    assert.deepEqual(
      status("shop", "lost")?.conditions.map((c) => [c.type, c.status, c.reason, c.message]),
      [
        [
          "Valid",
          "False",
          "SecretNotFound",
          "generation 1: Secret shop/nope (headersFrom) not found; nothing is applied",
        ],
        ["Synced", "False", "SecretNotFound", "not sent to agents: its Secret cannot be used"],
        ["Ready", "False", "SecretNotFound", "its Secret cannot be used"],
      ],
    );
    await until("locked reported", () => condition("shop", "locked", "Valid")?.reason);
    assert.equal(condition("shop", "locked", "Valid")?.reason, "SecretForbidden");
    await until("web ready", () => condition("shop", "web", "Ready")?.status === "True");

    // Rotated: seen at the next resync, pushed as a new version.
    kube.put(SECRETS, headersSecret("otlp", "Authorization=Bearer%20s3cret-two"));
    const rotated = await until("the rotated headers", () => {
      const last = agent.received.at(-1)?.set;
      const web = last?.resources.find((r) => r.name === "web");
      return web?.export?.otlp?.headers["Authorization"] === "Bearer s3cret-two" ? last : undefined;
    });
    assert.equal(rotated.version, first.set.version + 1);

    // Deleted: web keeps the headers read before, says so, and db is untouched.
    kube.remove(SECRETS, "otlp");
    await until("web's Secret gone", () => condition("shop", "web", "Valid")?.status === "False");
    assert.equal(
      condition("shop", "web", "Valid")?.message,
      "generation 1: Secret shop/otlp (headersFrom) not found; generation 1 stays applied with the headers read before",
    );
    assert.equal(condition("shop", "web", "Synced")?.reason, "SecretNotFound");
    assert.deepEqual(
      operator.currentSet?.resources.map((r) => [r.name, r.export?.otlp?.headers]),
      [
        ["db", undefined],
        ["web", { Authorization: "Bearer s3cret-two" }],
      ],
    );
    await until("db ready", () => condition("shop", "db", "Ready")?.status === "True");
    // Header values never reach a log line or a status.
    assert.doesNotMatch(log.text(), /s3cret/);
    assert.doesNotMatch(JSON.stringify(kube.calls.filter((c) => c.method === "PATCH")), /s3cret/);
  });
});
