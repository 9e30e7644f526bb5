import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { agentFromPod, agentUrl, type Pod } from "./agents.js";

const pod = (over: Partial<Pod> = {}): Pod => ({
  metadata: { name: "agent-x", namespace: "beyla" },
  spec: {
    nodeName: "n1",
    containers: [{ name: "agent", ports: [{ name: "control", containerPort: 9555 }] }],
  },
  status: { phase: "Running", podIP: "10.0.0.7", conditions: [{ type: "Ready", status: "True" }] },
  ...over,
});

describe("agentFromPod", () => {
  it("reads node, IP, the named control port and readiness", () => {
    assert.deepEqual(agentFromPod(pod(), 9443), {
      key: "beyla/agent-x",
      node: "n1",
      ip: "10.0.0.7",
      port: 9555,
      ready: true,
    });
  });

  it("uses the default port without a port named control", () => {
    assert.equal(
      agentFromPod(pod({ spec: { nodeName: "n1", containers: [{ name: "a" }] } }), 9443)?.port,
      9443,
    );
  });

  it("is not ready without the Ready condition or an IP", () => {
    assert.equal(
      agentFromPod(pod({ status: { phase: "Running", podIP: "10.0.0.7" } }), 1)?.ready,
      false,
    );
    assert.equal(
      agentFromPod(
        pod({ status: { phase: "Pending", conditions: [{ type: "Ready", status: "True" }] } }),
        1,
      )?.ready,
      false,
    );
  });

  it("leaves out terminating and finished Pods", () => {
    assert.equal(
      agentFromPod(
        pod({ metadata: { name: "a", namespace: "b", deletionTimestamp: "2024-01-01T00:00:00Z" } }),
        1,
      ),
      undefined,
    );
    assert.equal(agentFromPod(pod({ status: { phase: "Failed" } }), 1), undefined);
  });

  it("brackets IPv6 addresses in URLs", () => {
    const agent = { key: "k", node: "n", ip: "fd00::7", port: 9443, ready: true };
    assert.equal(agentUrl(agent, "https"), "https://[fd00::7]:9443/v1/selectors");
  });
});
