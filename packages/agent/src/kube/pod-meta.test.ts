import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { controllerOf, stripContainerScheme, toPodMeta } from "./pod-meta.js";

const ID_A = "a".repeat(64);
const ID_B = "b".repeat(64);
const ID_C = "c".repeat(64);

/** A pod as a watch event carries it (JSON). */
const WATCHED = {
  kind: "Pod",
  apiVersion: "v1",
  metadata: {
    name: "checkout-7d4b9c8f6-x2x9k",
    namespace: "shop",
    uid: "8d1f0a4e-5b6c-4d7e-8f90-a1b2c3d4e5f6",
    resourceVersion: "4711",
    labels: { "app.kubernetes.io/name": "checkout", "pod-template-hash": "7d4b9c8f6" },
    annotations: {
      "resource.opentelemetry.io/service.name": "checkout-svc",
      "kubectl.kubernetes.io/last-applied-configuration": "{...huge...}",
    },
    ownerReferences: [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "checkout-7d4b9c8f6", controller: true },
    ],
    managedFields: [{ manager: "kubectl" }],
  },
  spec: { nodeName: "node-1", containers: [{ name: "app", image: "shop/checkout:1" }] },
  status: {
    phase: "Running",
    podIP: "10.1.2.3",
    startTime: "2024-05-01T10:00:00Z",
    containerStatuses: [
      { name: "app", containerID: `containerd://${ID_A}`, ready: true },
      { name: "sidecar", containerID: `cri-o://${ID_B}` },
      { name: "not-started-yet" },
    ],
    initContainerStatuses: [{ name: "init-db", containerID: `docker://${ID_C}` }],
  },
};

describe("toPodMeta", () => {
  it("keeps only what decoration needs", () => {
    assert.deepEqual(toPodMeta(WATCHED), {
      uid: "8d1f0a4e-5b6c-4d7e-8f90-a1b2c3d4e5f6",
      name: "checkout-7d4b9c8f6-x2x9k",
      namespace: "shop",
      resourceVersion: "4711",
      labels: { "app.kubernetes.io/name": "checkout", "pod-template-hash": "7d4b9c8f6" },
      annotations: { "resource.opentelemetry.io/service.name": "checkout-svc" },
      ownerReferences: [{ kind: "ReplicaSet", name: "checkout-7d4b9c8f6", controller: true }],
      startTime: "2024-05-01T10:00:00Z",
      podIP: "10.1.2.3",
      nodeName: "node-1",
      containers: [
        { id: ID_A, name: "app", kind: "container" },
        { id: ID_B, name: "sidecar", kind: "container" },
        { id: ID_C, name: "init-db", kind: "init" },
      ],
    });
  });
  it("reads a listed pod, whose dates the client deserialized", () => {
    const listed = {
      ...WATCHED,
      status: { ...WATCHED.status, startTime: new Date("2024-05-01T10:00:00Z") },
    };
    assert.equal(toPodMeta(listed)?.startTime, "2024-05-01T10:00:00Z");
  });
  it("reads ephemeral containers and a pod with no status yet", () => {
    const pending = { metadata: WATCHED.metadata, spec: {} };
    const meta = toPodMeta(pending);
    assert.deepEqual(meta?.containers, []);
    assert.equal(meta?.startTime, "");
    assert.equal(meta?.nodeName, "");
    const debugged = {
      ...WATCHED,
      status: {
        ephemeralContainerStatuses: [{ name: "debugger", containerID: `containerd://${ID_B}` }],
      },
    };
    assert.deepEqual(toPodMeta(debugged)?.containers, [
      { id: ID_B, name: "debugger", kind: "ephemeral" },
    ]);
  });
  it("rejects what is not a pod", () => {
    assert.equal(toPodMeta(undefined), undefined);
    assert.equal(toPodMeta({ metadata: { name: "x" } }), undefined);
    assert.equal(toPodMeta({ kind: "Status", code: 410 }), undefined);
  });
  it("ignores malformed fields instead of failing", () => {
    const odd = {
      metadata: { ...WATCHED.metadata, labels: { ok: "1", bad: 2 }, ownerReferences: "nope" },
      status: { containerStatuses: [null, 3, { name: "x", containerID: 5 }] },
    };
    const meta = toPodMeta(odd);
    assert.deepEqual(meta?.labels, { ok: "1" });
    assert.deepEqual(meta?.ownerReferences, []);
    assert.deepEqual(meta?.containers, []);
  });
});

describe("stripContainerScheme", () => {
  it("drops the runtime scheme", () => {
    assert.equal(stripContainerScheme(`containerd://${ID_A}`), ID_A);
    assert.equal(stripContainerScheme(ID_A), ID_A);
    assert.equal(stripContainerScheme(""), "");
  });
});

describe("controllerOf", () => {
  it("prefers the controller, else the first owner", () => {
    const a = { kind: "ConfigMap", name: "a", controller: false };
    const b = { kind: "StatefulSet", name: "b", controller: true };
    assert.equal(controllerOf([a, b]), b);
    assert.equal(controllerOf([a]), a);
    assert.equal(controllerOf([]), undefined);
  });
});
