import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { makeSelectorSet, type SelectorSet, type SelectorSetResource } from "@beyla-ts/shared";
import { SelectorState, VersionConflictError, type ParsedResource } from "./selector-state.js";

const web: SelectorSetResource = {
  namespace: "shop",
  name: "web",
  uid: "u1",
  generation: 1,
  clusterWide: false,
  spec: { discovery: { services: [{ openPorts: "8080" }] } },
};
const bad: SelectorSetResource = {
  namespace: "shop",
  name: "bad",
  uid: "u2",
  generation: 1,
  clusterWide: false,
  spec: { discovery: { services: [{ exePath: "(" }] } },
};

function recorder(): { state: SelectorState; applied: [SelectorSet, ParsedResource[]][] } {
  const applied: [SelectorSet, ParsedResource[]][] = [];
  const state = new SelectorState({
    node: "n1",
    apply: (set, parsed) => {
      applied.push([set, parsed]);
      return { selected: parsed.map((p) => ({ ...p.resource, processes: 2 })) };
    },
  });
  return { state, applied };
}

describe("SelectorState", () => {
  it("answers version 0 before any set", () => {
    assert.deepEqual(recorder().state.answer(), {
      appliedVersion: 0,
      hash: "",
      node: "n1",
      selected: [],
    });
  });

  it("applies a set and answers with what was selected", async () => {
    const { state, applied } = recorder();
    const set = makeSelectorSet(3, [web]);
    const answer = await state.offer(set);
    assert.equal(applied.length, 1);
    assert.equal(applied[0]?.[1][0]?.spec.services[0]?.k8sNamespace?.source, "^shop$");
    assert.equal(answer.appliedVersion, 3);
    assert.equal(answer.hash, set.hash);
    assert.deepEqual(
      answer.selected.map((s) => [s.namespace, s.name, s.processes]),
      [["shop", "web", 2]],
    );
  });

  it("refuses an older version with 409 and the version in force", async () => {
    const { state } = recorder();
    await state.offer(makeSelectorSet(5, [web]));
    await assert.rejects(state.offer(makeSelectorSet(4, [])), (err: unknown) => {
      assert.ok(err instanceof VersionConflictError);
      assert.equal(err.answer.appliedVersion, 5);
      return true;
    });
  });

  it("refuses the same version with other content", async () => {
    const { state } = recorder();
    await state.offer(makeSelectorSet(5, [web]));
    await assert.rejects(state.offer(makeSelectorSet(5, [])), /in force with other content/);
  });

  it("does not re-apply the same content, whatever its version", async () => {
    const { state, applied } = recorder();
    await state.offer(makeSelectorSet(5, [web]));
    assert.equal((await state.offer(makeSelectorSet(5, [web]))).appliedVersion, 5);
    assert.equal((await state.offer(makeSelectorSet(9, [web]))).appliedVersion, 9);
    assert.equal(applied.length, 1);
    assert.equal(state.current?.version, 9);
  });

  it("applies resources that parse and reports the others", async () => {
    const { state, applied } = recorder();
    const answer = await state.offer(makeSelectorSet(1, [web, bad]));
    assert.deepEqual(
      applied[0]?.[1].map((p) => p.resource.name),
      ["web"],
    );
    assert.equal(answer.rejected?.length, 1);
    assert.match(
      answer.rejected?.[0]?.message ?? "",
      /BeylaInstrumentation shop\/bad: field "spec.discovery.services\[0\].exePath"/,
    );
  });

  it("keeps the previous set when applying fails", async () => {
    let fail = false;
    const state = new SelectorState({
      node: "n1",
      apply: () => {
        if (fail) throw new Error("probe attach failed");
        return { selected: [] };
      },
    });
    await state.offer(makeSelectorSet(1, [web]));
    fail = true;
    await assert.rejects(state.offer(makeSelectorSet(2, [])), /probe attach failed/);
    assert.equal(state.current?.version, 1);
  });

  it("serialises concurrent offers", async () => {
    const order: number[] = [];
    const state = new SelectorState({
      node: "n1",
      apply: async (set) => {
        order.push(set.version);
        await new Promise((r) => setTimeout(r, set.version === 1 ? 20 : 0));
        order.push(-set.version);
        return { selected: [] };
      },
    });
    await Promise.all([
      state.offer(makeSelectorSet(1, [web])),
      state.offer(makeSelectorSet(2, [])),
    ]);
    assert.deepEqual(order, [1, -1, 2, -2]);
    assert.equal(state.current?.version, 2);
  });

  it("answers with fresh counts when given a source", async () => {
    let n = 1;
    const state = new SelectorState({
      node: "n1",
      apply: () => ({ selected: [] }),
      selected: () => [{ namespace: "shop", name: "web", processes: n++ }],
    });
    await state.offer(makeSelectorSet(1, [web]));
    assert.equal(state.answer().selected[0]?.processes, 2);
  });
});
