import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { selectorSetHash, type SelectorSetResource } from "@beyla-ts/shared";
import {
  HASH_ANNOTATION,
  SelectorSets,
  VERSION_ANNOTATION,
  recordFromAnnotations,
  recordToAnnotations,
} from "./selector-sets.js";

const r = (name: string, generation = 1): SelectorSetResource => ({
  namespace: "shop",
  name,
  uid: `uid-${name}`,
  generation,
  clusterWide: false,
  spec: { discovery: { services: [{ openPorts: 80 }] } },
});

describe("SelectorSets", () => {
  it("starts at version 1 and moves by one on each content change", () => {
    const sets = new SelectorSets();
    assert.equal(sets.update([r("a")]).set.version, 1);
    assert.deepEqual(sets.update([r("a")]), { set: sets.current, changed: false });
    assert.equal(sets.update([r("a", 2)]).set.version, 2);
    assert.equal(sets.update([]).set.version, 3);
  });

  it("keeps a restored version when the content is the same", () => {
    const hash = selectorSetHash([r("a")]);
    const sets = new SelectorSets({ version: 41, hash });
    const { set, changed } = sets.update([r("a")]);
    assert.equal(set.version, 41);
    assert.equal(changed, true);
    assert.equal(new SelectorSets({ version: 41, hash }).update([r("b")]).set.version, 42);
  });

  it("adopts an agent's higher version of the same content", () => {
    const sets = new SelectorSets();
    const { set } = sets.update([r("a")]);
    assert.equal(sets.observed(7, set.hash), true);
    assert.equal(sets.update([r("a")]).set.version, 7);
    assert.equal(sets.observed(7, set.hash), false);
  });

  it("goes above an agent's higher version of other content", () => {
    const sets = new SelectorSets();
    sets.update([r("a")]);
    assert.equal(sets.observed(9, "sha256:other"), true);
    assert.equal(sets.update([r("a")]).set.version, 10);
    assert.equal(sets.observed(3, "sha256:old"), false);
  });

  it("tells which set version first carried each resource's generation", () => {
    const sets = new SelectorSets();
    sets.update([r("a")]);
    sets.update([r("a"), r("b")]);
    assert.equal(sets.since("shop/a"), 1);
    assert.equal(sets.since("shop/b"), 2);
    sets.update([r("a", 2)]);
    assert.equal(sets.since("shop/a"), 3);
    assert.equal(sets.since("shop/b"), undefined);
  });

  it("keeps its record in Lease annotations", () => {
    const record = { version: 12, hash: "sha256:abc" };
    const annotations = recordToAnnotations(record);
    assert.deepEqual(annotations, { [VERSION_ANNOTATION]: "12", [HASH_ANNOTATION]: "sha256:abc" });
    assert.deepEqual(recordFromAnnotations(annotations), record);
    assert.equal(
      recordFromAnnotations({ [VERSION_ANNOTATION]: "x", [HASH_ANNOTATION]: "h" }),
      undefined,
    );
    assert.equal(recordFromAnnotations({}), undefined);
  });
});
