import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  canonicalJson,
  makeSelectorSet,
  readApplyAnswer,
  readSelectorSet,
  selectorSetHash,
  type SelectorSetResource,
} from "./selector-set.js";

const web: SelectorSetResource = {
  namespace: "shop",
  name: "web",
  uid: "u1",
  generation: 2,
  clusterWide: false,
  spec: { discovery: { services: [{ openPorts: "8080", name: "web" }] } },
};
const all: SelectorSetResource = {
  namespace: "beyla-system",
  name: "all",
  uid: "u2",
  generation: 1,
  clusterWide: true,
  spec: {},
};

describe("selector set", () => {
  it("writes canonical JSON with sorted keys at every level", () => {
    assert.equal(
      canonicalJson({ b: 1, a: [{ d: 1, c: 2 }], e: undefined }),
      '{"a":[{"c":2,"d":1}],"b":1}',
    );
  });

  it("hashes content, not key or resource order", () => {
    const reordered: SelectorSetResource = {
      spec: { discovery: { services: [{ name: "web", openPorts: "8080" }] } },
      clusterWide: false,
      generation: 2,
      uid: "u1",
      name: "web",
      namespace: "shop",
    };
    assert.equal(selectorSetHash([web, all]), selectorSetHash([all, reordered]));
    assert.notEqual(selectorSetHash([web]), selectorSetHash([{ ...web, generation: 3 }]));
    assert.match(selectorSetHash([]), /^sha256:[0-9a-f]{64}$/);
  });

  it("sorts resources by namespace then name", () => {
    const set = makeSelectorSet(7, [web, all]);
    assert.deepEqual(
      set.resources.map((r) => r.name),
      ["all", "web"],
    );
    assert.equal(set.version, 7);
  });

  it("reads back what it writes", () => {
    const set = makeSelectorSet(3, [web, all]);
    assert.deepEqual(readSelectorSet(JSON.parse(JSON.stringify(set))), set);
  });

  it("carries the headers the operator resolved, in the hash, and reads them back", () => {
    const withHeaders: SelectorSetResource = {
      ...web,
      export: { otlp: { headers: { authorization: "Bearer s3cret", "x-org": "7" } } },
    };
    const set = makeSelectorSet(4, [withHeaders, all]);
    assert.deepEqual(readSelectorSet(JSON.parse(JSON.stringify(set))), set);
    // A rotated credential is other content: a new hash, so a new version is pushed.
    const rotated: SelectorSetResource = {
      ...web,
      export: { otlp: { headers: { authorization: "Bearer other", "x-org": "7" } } },
    };
    assert.notEqual(selectorSetHash([withHeaders]), selectorSetHash([rotated]));
    assert.notEqual(selectorSetHash([withHeaders]), selectorSetHash([web]));
    // A receiver that dropped the field would see a hash mismatch, never a set without it.
    assert.throws(
      () => readSelectorSet({ ...set, resources: [all, web] }),
      /does not match the resources/,
    );
  });

  it("refuses malformed headers without quoting any header value", () => {
    const withExport = (exp: unknown) => {
      const r = { ...web, export: exp } as SelectorSetResource;
      return { version: 1, hash: selectorSetHash([r]), resources: [r] };
    };
    const cases: [unknown, RegExp][] = [
      [
        { otlp: { headers: { authorization: 7 } } },
        /export\.otlp\.headers: "authorization" must be a string/,
      ],
      [{ otlp: { headers: "authorization=x" } }, /export\.otlp\.headers must be a JSON object/],
      [{ otlp: { headers: {}, endpoint: "x" } }, /export\.otlp: unknown key "endpoint"/],
      [{ prometheus: {} }, /export: unknown key "prometheus"/],
    ];
    for (const [exp, message] of cases) {
      assert.throws(
        () => readSelectorSet(withExport(exp)),
        (err: Error) => message.test(err.message) && !err.message.includes("authorization=x"),
        JSON.stringify(exp),
      );
    }
  });

  const bad: [string, unknown, RegExp][] = [
    ["a list", [], /must be a JSON object/],
    ["version 0", { ...makeSelectorSet(1, []), version: 0 }, /version must be a positive integer/],
    ["a bad hash", { ...makeSelectorSet(1, []), hash: "md5:1" }, /hash must be/],
    [
      "a hash of other content",
      { ...makeSelectorSet(1, [web]), resources: [all] },
      /does not match the resources/,
    ],
    [
      "a resource without uid",
      { version: 1, hash: selectorSetHash([]), resources: [{ ...web, uid: 1 }] },
      /resources\[0\]\.uid must be a string/,
    ],
    [
      "a resource twice",
      { version: 1, hash: selectorSetHash([web, web]), resources: [web, web] },
      /shop\/web appears twice/,
    ],
  ];
  for (const [what, body, message] of bad) {
    it(`refuses ${what}`, () => assert.throws(() => readSelectorSet(body), message));
  }

  it("reads an agent's answer and refuses a malformed one", () => {
    const answer = {
      appliedVersion: 3,
      hash: "sha256:x",
      node: "n1",
      selected: [{ namespace: "shop", name: "web", processes: 2 }],
    };
    assert.deepEqual(readApplyAnswer(answer), answer);
    assert.throws(
      () => readApplyAnswer({ ...answer, selected: [{ namespace: "shop", processes: -1 }] }),
      /selected\[0\] must have namespace, name and processes/,
    );
  });
});
