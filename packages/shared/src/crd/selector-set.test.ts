import assert from "node:assert/strict";
import { createHash } from "node:crypto";
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
    // A set that lost the field on the way is other content: a hash mismatch.
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
      [{ otlp: "x" }, /export\.otlp must be a JSON object/],
      [[], /export must be a JSON object/],
    ];
    for (const [exp, message] of cases) {
      assert.throws(
        () => readSelectorSet(withExport(exp)),
        (err: Error) => message.test(err.message) && !err.message.includes("authorization=x"),
        JSON.stringify(exp),
      );
    }
  });

  describe("fields this reader does not know (a newer sender)", () => {
    /** What a newer operator sends: its hash covers every field it knows, in set order. */
    const fromNewerSender = (resources: Record<string, unknown>[]) => ({
      version: 5,
      hash: `sha256:${createHash("sha256").update(canonicalJson(resources)).digest("hex")}`,
      resources,
      futureTopLevel: { mode: "strict" },
    });
    const newer = () =>
      fromNewerSender([
        { ...all, futureField: { weight: 3 } },
        {
          ...web,
          futureField: "x",
          export: { otlp: { headers: { authorization: "Bearer s3cret" }, compression: "gzip" } },
        },
      ]);

    it("accepts the set: unknown fields count in the hash and stay out of the typed set", () => {
      const ignored: string[] = [];
      const set = readSelectorSet(JSON.parse(JSON.stringify(newer())), ignored);
      assert.deepEqual(set, {
        version: 5,
        hash: newer().hash,
        resources: [
          all,
          { ...web, export: { otlp: { headers: { authorization: "Bearer s3cret" } } } },
        ],
      });
      assert.deepEqual(ignored, [
        "futureTopLevel",
        "resources[].export.otlp.compression",
        "resources[].futureField",
      ]);
      // Re-hashing the typed set would not give the sender's hash: only the raw one does.
      assert.notEqual(selectorSetHash(set.resources), set.hash);
      // Without a list to fill, the same set reads the same.
      assert.deepEqual(readSelectorSet(newer()), set);
    });

    it("refuses the set when an unknown field's value was changed on the way", () => {
      const tampered = newer();
      (tampered.resources[1] as { futureField: unknown }).futureField = "y";
      assert.throws(() => readSelectorSet(tampered), /hash sha256:[0-9a-f]{64} does not match/);
    });

    it("still refuses a known field of the wrong type, naming the field", () => {
      const body = newer();
      body.resources[0] = { ...body.resources[0], generation: "1" };
      assert.throws(() => readSelectorSet(body), /resources\[0\]\.generation must be an integer/);
      const clusterWide = fromNewerSender([{ ...web, futureField: 1, clusterWide: "no" }]);
      assert.throws(
        () => readSelectorSet(clusterWide),
        /resources\[0\]\.clusterWide must be true or false/,
      );
      const version = { ...newer(), version: "5" };
      assert.throws(() => readSelectorSet(version), /version must be a positive integer/);
    });

    it("hashes the resources as sent: in set order, and without a spec the sender left out", () => {
      const { namespace, name, uid, generation, clusterWide } = web;
      const noSpec = { namespace, name, uid, generation, clusterWide };
      const sent = fromNewerSender([all, noSpec]);
      const set = readSelectorSet({ ...sent, resources: [noSpec, all] });
      assert.deepEqual(set.resources, [all, { ...web, spec: {} }]);
      assert.equal(set.hash, sent.hash);
    });
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

  it("keeps the resources an agent rejected, and refuses a malformed list", () => {
    const answer = {
      appliedVersion: 4,
      hash: "sha256:y",
      node: "n1",
      selected: [],
      rejected: [{ namespace: "shop", name: "blocked", message: "spec.export.prometheus.port: …" }],
    };
    assert.deepEqual(readApplyAnswer(answer), answer);
    assert.throws(
      () => readApplyAnswer({ ...answer, rejected: [{ namespace: "shop", name: "x" }] }),
      /rejected\[0\] must have namespace, name and message/,
    );
    assert.throws(() => readApplyAnswer({ ...answer, rejected: "no" }), /rejected must be a list/);
  });
});
