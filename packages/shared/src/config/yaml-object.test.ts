import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { YamlObject } from "./yaml-object.js";

const obj = (value: Record<string, unknown>, path = "sec") => YamlObject.from(value, path);

describe("YamlObject", () => {
  it("reads null and missing keys as absent", () => {
    const o = obj({ a: null });
    assert.equal(o.has("a"), false);
    assert.equal(o.string("a"), undefined);
    assert.equal(o.int("b", 0, 1), undefined);
    assert.equal(o.bool("a"), undefined);
    assert.equal(o.duration("a", 1), undefined);
    assert.equal(o.enumOf("a", ["x"]), undefined);
    assert.equal(o.stringList("a"), undefined);
    assert.equal(o.list("a"), undefined);
    assert.equal(o.text("a"), undefined);
    assert.equal(o.stringMap("a"), undefined);
    assert.deepEqual(o.object("a").keys(), []);
  });

  it("builds field paths from the top level and below", () => {
    assert.equal(YamlObject.from({}, "").fieldPath("routes"), "routes");
    assert.equal(
      obj({}, "discovery.services[1]").fieldPath("open_ports"),
      "discovery.services[1].open_ports",
    );
    assert.equal(obj({ routes: {} }, "").object("routes").path, "routes");
  });

  it("reads well-typed values", () => {
    const o = obj({
      s: "x",
      n: 8,
      b: false,
      d: "2s",
      e: "DEBUG",
      l: ["a", "b"],
      t: 12,
      m: { k: "v", n: 1, f: true, z: null },
    });
    assert.equal(o.string("s"), "x");
    assert.equal(o.int("n", 1, 10), 8);
    assert.equal(o.bool("b"), false);
    assert.equal(o.duration("d", 1), 2000);
    assert.equal(o.enumOf("e", ["debug", "info"]), "debug");
    assert.deepEqual(o.stringList("l"), ["a", "b"]);
    assert.equal(o.text("t"), "12");
    assert.equal(o.text("b"), "false");
    assert.deepEqual(o.stringMap("m"), { k: "v", n: "1", f: "true" });
    assert.deepEqual(o.list("l"), ["a", "b"]);
  });

  const bad: [string, (o: YamlObject) => unknown, string][] = [
    [
      "a number for a string",
      (o) => o.string("n"),
      'config: field "sec.n": value 8080 (a number) has the wrong type; allowed: a string',
    ],
    [
      "a mapping for text",
      (o) => o.text("m"),
      'config: field "sec.m": value {"a":1} (a mapping) has the wrong type; allowed: a string',
    ],
    [
      "a string for a boolean",
      (o) => o.bool("s"),
      'config: field "sec.s": value "yes" (a string) has the wrong type; allowed: true or false',
    ],
    [
      "a string for an integer",
      (o) => o.int("s", 1, 9),
      'config: field "sec.s": value "yes" (a string) has the wrong type; allowed: an integer from 1 to 9',
    ],
    [
      "a fraction for an integer",
      (o) => o.int("f", 1, 9),
      'config: field "sec.f": value 1.5 (a number) has the wrong type; allowed: an integer from 1 to 9',
    ],
    [
      "an integer out of range",
      (o) => o.int("n", 1, 9),
      'config: field "sec.n": value 8080 is not allowed; allowed: an integer from 1 to 9',
    ],
    [
      "a number for a duration",
      (o) => o.duration("n", 1),
      'config: field "sec.n": value 8080 (a number) has the wrong type; allowed: a duration string such as "500ms" or "5m"',
    ],
    [
      "a duration below the minimum",
      (o) => o.duration("zero", 1),
      'config: field "sec.zero": value "0" is not allowed; allowed: a duration of at least 1ms',
    ],
    [
      "an unknown enum value, with a suggestion",
      (o) => o.enumOf("typo", ["heuristic", "path"]),
      'config: field "sec.typo": value "heurstic" is not allowed (did you mean "heuristic"?); allowed: one of heuristic, path',
    ],
    [
      "a list for an enum",
      (o) => o.enumOf("l", ["a"]),
      'config: field "sec.l": value ["a",2] (a list) has the wrong type; allowed: one of a',
    ],
    [
      "a string for a list",
      (o) => o.stringList("s"),
      'config: field "sec.s": value "yes" (a string) has the wrong type; allowed: a list of strings',
    ],
    [
      "a number inside a string list",
      (o) => o.stringList("l"),
      'config: field "sec.l[1]": value 2 (a number) is not a string; allowed: a string',
    ],
    [
      "a string for a list",
      (o) => o.list("s"),
      'config: field "sec.s": value "yes" (a string) has the wrong type; allowed: a list',
    ],
    [
      "a list for a mapping",
      (o) => o.object("l"),
      'config: field "sec.l": value ["a",2] (a list) is not a mapping; allowed: a mapping of keys to values',
    ],
    [
      "a list inside a string map",
      (o) => o.stringMap("deep"),
      'config: field "sec.deep.k": value [1] (a list) has the wrong type; allowed: a string',
    ],
  ];
  const o = obj({
    n: 8080,
    m: { a: 1 },
    s: "yes",
    f: 1.5,
    zero: "0",
    typo: "heurstic",
    l: ["a", 2],
    deep: { k: [1] },
  });
  for (const [name, read, message] of bad) {
    it(`rejects ${name}`, () => assert.throws(() => read(o), { name: "ConfigError", message }));
  }

  it("cuts long values in type errors", () => {
    const long = obj({ s: ["x".repeat(200)] });
    assert.throws(() => long.string("s"), {
      message: `config: field "sec.s": value ["${"x".repeat(75)}... (a list) has the wrong type; allowed: a string`,
    });
  });

  it("rejects a document that is not a mapping", () => {
    assert.throws(() => YamlObject.from("text", ""), {
      field: "(document)",
      message:
        'config: field "(document)": value "text" (a string) is not a mapping; allowed: a mapping of keys to values',
    });
  });

  describe("checkKeys", () => {
    it("rejects an unknown key and suggests the closest", () => {
      assert.throws(
        () => obj({ unmatchd: "path" }, "routes").checkKeys(["patterns", "unmatched"], [], []),
        {
          field: "routes.unmatchd",
          value: "path",
          message:
            'config: field "routes.unmatchd": unknown key (did you mean "unmatched"?); allowed: one of patterns, unmatched',
        },
      );
    });

    it("rejects an unknown key with no close match", () => {
      assert.throws(() => obj({ zzz: 1 }, "").checkKeys(["routes"], [], []), {
        message: 'config: field "zzz": unknown key; allowed: one of routes',
      });
    });

    it("warns about known reference keys it ignores", () => {
      const warnings: string[] = [];
      obj({ features: ["application"], port: 1 }, "prometheus_export").checkKeys(
        ["port"],
        ["features"],
        warnings,
      );
      assert.deepEqual(warnings, [
        'config: field "prometheus_export.features" is an option of the reference agent that this agent does not implement; ignored',
      ]);
    });
  });
});
