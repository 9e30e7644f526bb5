import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AgentState } from "./pusher.js";
import { computeStatus, sameStatus, type StatusInput } from "./status.js";

const agent = (node: string, over: Partial<AgentState> = {}): AgentState => ({
  agent: { key: `beyla/${node}`, node, ip: "10.0.0.1", port: 9443, ready: true },
  ...over,
});
const answered = (node: string, version: number, processes: number): AgentState =>
  agent(node, {
    answer: {
      appliedVersion: version,
      hash: "h",
      node,
      selected: [{ namespace: "shop", name: "web", processes }],
    },
  });

const base: StatusInput = {
  namespace: "shop",
  name: "web",
  generation: 3,
  since: 5,
  agents: [],
  agentSelector: "app=agent in namespace beyla",
  now: new Date("2025-01-02T03:04:05.678Z"),
};

const conditions = (input: StatusInput) =>
  Object.fromEntries(computeStatus(input).conditions.map((c) => [c.type, [c.status, c.reason]]));

describe("computeStatus", () => {
  it("sums processes over agents that hold the generation", () => {
    const s = computeStatus({ ...base, agents: [answered("n1", 5, 2), answered("n2", 6, 3)] });
    assert.equal(s.observedGeneration, 3);
    assert.equal(s.selectorSetVersion, 5);
    assert.equal(s.nodes, "2/2");
    assert.equal(s.processesSelected, 5);
    assert.deepEqual(conditions({ ...base, agents: [answered("n1", 5, 2)] }), {
      Valid: ["True", "SpecValid"],
      Synced: ["True", "Applied"],
      Ready: ["True", "Ready"],
    });
    assert.equal(s.conditions[0]?.lastTransitionTime, "2025-01-02T03:04:05Z");
  });

  it("does not count an agent still on an older set, and says which push failed", () => {
    const s = computeStatus({
      ...base,
      agents: [
        answered("n1", 5, 2),
        answered("n2", 4, 9),
        agent("n3", { error: "push of version 5 to n3 failed: connection refused" }),
      ],
    });
    assert.equal(s.nodes, "1/3");
    assert.equal(s.processesSelected, 2);
    const synced = s.conditions.find((c) => c.type === "Synced");
    assert.equal(synced?.reason, "PushFailed");
    assert.match(
      synced?.message ?? "",
      /applied by 1 of 3 agents; push of version 5 to n3 failed: connection refused/,
    );
  });

  it("reports a spec the agent rejected", () => {
    const rejecting = answered("n1", 5, 0);
    rejecting.answer!.rejected = [{ namespace: "shop", name: "web", message: "unknown key" }];
    const s = computeStatus({ ...base, agents: [rejecting] });
    assert.equal(s.nodes, "0/1");
    assert.match(s.conditions.find((c) => c.type === "Synced")?.message ?? "", /n1: unknown key/);
  });

  it("is Valid=False with the ConfigError message for a spec never valid: nothing applied", () => {
    const s = computeStatus({
      ...base,
      since: undefined,
      problem: { reason: "InvalidSpec", message: "config: bad regex" },
      agents: [answered("n1", 5, 2)],
    });
    assert.deepEqual(
      s.conditions.map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration]),
      [
        [
          "Valid",
          "False",
          "InvalidSpec",
          "generation 3 is invalid: config: bad regex; nothing is applied",
          3,
        ],
        ["Synced", "False", "InvalidSpec", "not sent to agents: the spec is invalid", 3],
        ["Ready", "False", "InvalidSpec", "the spec is invalid", 3],
      ],
    );
    assert.equal(s.observedGeneration, 3);
    assert.equal(s.appliedGeneration, undefined);
    assert.equal(s.lastValid, undefined);
    assert.equal(s.processesSelected, 0);
    assert.equal(s.nodes, "0/1");
    assert.equal(s.selectorSetVersion, undefined);
  });

  it("says which generation stays applied when the current one is invalid", () => {
    const lastValid = { generation: 2, spec: { discovery: { services: [{ openPorts: "80" }] } } };
    const s = computeStatus({
      ...base,
      problem: { reason: "InvalidSpec", message: "config: bad regex" },
      appliedGeneration: 2,
      lastValid,
      agents: [answered("n1", 5, 2), answered("n2", 4, 1)],
    });
    assert.deepEqual(
      s.conditions.map((c) => [c.type, c.status, c.reason, c.message]),
      [
        [
          "Valid",
          "False",
          "InvalidSpec",
          "generation 3 is invalid: config: bad regex; generation 2 stays applied",
        ],
        [
          "Synced",
          "False",
          "InvalidSpec",
          "generation 3 is not applied; generation 2 is, by 1 of 2 agents",
        ],
        [
          "Ready",
          "False",
          "InvalidSpec",
          "generation 3 is not applied; generation 2 is, selecting 2 processes on 1 nodes",
        ],
      ],
    );
    // observedGeneration is the generation looked at; what runs is appliedGeneration.
    assert.equal(s.observedGeneration, 3);
    assert.equal(s.appliedGeneration, 2);
    assert.deepEqual(s.lastValid, lastValid);
    assert.equal(s.selectorSetVersion, 5);
    assert.equal(s.nodes, "1/2");
    assert.equal(s.processesSelected, 2);
    const other = computeStatus({
      ...base,
      problem: { reason: "InvalidSpec", message: "config: bad regex" },
      appliedGeneration: 2,
      lastValid: { ...lastValid, spec: {} },
      agents: [answered("n1", 5, 2), answered("n2", 4, 1)],
      previous: s,
    });
    assert.equal(sameStatus(s, other), false, "lastValid is part of the status");
  });

  it("says the headers read before stay in use when the Secret goes away", () => {
    const s = computeStatus({
      ...base,
      problem: { reason: "SecretNotFound", message: "Secret shop/otlp (headersFrom) not found" },
      appliedGeneration: 3,
      lastValid: { generation: 3, spec: {} },
      agents: [answered("n1", 5, 2)],
    });
    assert.deepEqual(
      s.conditions.map((c) => [c.type, c.status, c.reason, c.message]),
      [
        [
          "Valid",
          "False",
          "SecretNotFound",
          "generation 3: Secret shop/otlp (headersFrom) not found; generation 3 stays applied with the headers read before",
        ],
        [
          "Synced",
          "False",
          "SecretNotFound",
          "generation 3 is applied with the headers read before, by 1 of 1 agents",
        ],
        [
          "Ready",
          "False",
          "SecretNotFound",
          "generation 3 is applied with the headers read before, selecting 2 processes on 1 nodes",
        ],
      ],
    );
    const never = computeStatus({
      ...base,
      since: undefined,
      problem: { reason: "SecretKeyNotFound", message: "Secret shop/otlp has no key" },
      agents: [answered("n1", 5, 2)],
    });
    assert.deepEqual(
      never.conditions.map((c) => [c.type, c.reason, c.message]),
      [
        [
          "Valid",
          "SecretKeyNotFound",
          "generation 3: Secret shop/otlp has no key; nothing is applied",
        ],
        ["Synced", "SecretKeyNotFound", "not sent to agents: its Secret cannot be used"],
        ["Ready", "SecretKeyNotFound", "its Secret cannot be used"],
      ],
    );
  });

  it("says when no agent Pod matches", () => {
    assert.deepEqual(conditions(base).Synced, ["False", "NoAgents"]);
  });

  it("keeps lastTransitionTime while a condition's status holds", () => {
    const first = computeStatus({ ...base, agents: [answered("n1", 5, 2)] });
    const later = computeStatus({
      ...base,
      agents: [answered("n1", 5, 4)],
      previous: first,
      now: new Date("2025-02-01T00:00:00Z"),
    });
    assert.equal(later.conditions[2]?.lastTransitionTime, "2025-01-02T03:04:05Z");
    assert.equal(sameStatus(first, later), false);
    assert.equal(
      sameStatus(
        later,
        computeStatus({ ...base, agents: [answered("n1", 5, 4)], previous: later }),
      ),
      true,
    );
  });
});
