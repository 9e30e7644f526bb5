import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveNodeName } from "./node-name.js";

describe("resolveNodeName", () => {
  it("takes NODE_NAME when set", () => assert.equal(resolveNodeName("worker-1", "VM"), "worker-1"));
  it("falls back to the host name, lower-cased like the kubelet", () => {
    assert.equal(resolveNodeName(undefined, "Worker-2.Example"), "worker-2.example");
    assert.equal(resolveNodeName("  ", "vm"), "vm");
  });
});
