import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, formatValue, oneOf } from "./config-error.js";

describe("ConfigError", () => {
  const cases: {
    name: string;
    make: () => ConfigError;
    message: string;
  }[] = [
    {
      name: "names a YAML field, the value and what is allowed",
      make: () =>
        new ConfigError(
          "routes.unmatched",
          "foo",
          oneOf(["heuristic", "path", "wildcard", "unset"]),
        ),
      message:
        'config: field "routes.unmatched": value "foo" is not allowed; allowed: one of heuristic, path, wildcard, unset',
    },
    {
      name: "names an environment variable",
      make: () => new ConfigError("BEYLA_LOG_LEVEL", "loud", "one of debug", { source: "env" }),
      message:
        'config: environment variable "BEYLA_LOG_LEVEL": value "loud" is not allowed; allowed: one of debug',
    },
    {
      name: "uses a custom problem text",
      make: () => new ConfigError("a.b", 1, "x", { problem: "unknown key" }),
      message: 'config: field "a.b": unknown key; allowed: x',
    },
    {
      name: "prefixes the file name for YAML fields",
      make: () => new ConfigError("a", 1, "x", { file: "beyla.yml" }),
      message: 'config: beyla.yml: field "a": value 1 is not allowed; allowed: x',
    },
    {
      name: "never prefixes a file name for environment variables",
      make: () => new ConfigError("A", "1", "x", { file: "beyla.yml", source: "env" }),
      message: 'config: environment variable "A": value "1" is not allowed; allowed: x',
    },
    {
      name: "adds the file name afterwards with withFile",
      make: () => new ConfigError("a", 1, "x", { problem: "bad" }).withFile("/etc/beyla.yml"),
      message: 'config: /etc/beyla.yml: field "a": bad; allowed: x',
    },
    {
      name: "keeps the first file name when withFile is called twice",
      make: () => new ConfigError("a", 1, "x").withFile("one.yml").withFile("two.yml"),
      message: 'config: one.yml: field "a": value 1 is not allowed; allowed: x',
    },
    {
      name: "leaves environment errors alone in withFile",
      make: () => new ConfigError("A", "1", "x", { source: "env" }).withFile("one.yml"),
      message: 'config: environment variable "A": value "1" is not allowed; allowed: x',
    },
    {
      name: "leaves the error alone when withFile gets no file",
      make: () => new ConfigError("a", 1, "x").withFile(undefined),
      message: 'config: field "a": value 1 is not allowed; allowed: x',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const err = c.make();
      assert.equal(err.message, c.message);
      assert.equal(err.name, "ConfigError");
      assert.ok(err instanceof Error);
    });
  }

  it("keeps field, value, allowed, source and cause", () => {
    const cause = new Error("root");
    const err = new ConfigError("x.y", [1], "z", { source: "crd", cause }).withFile("f.yml");
    assert.deepEqual(
      {
        field: err.field,
        value: err.value,
        allowed: err.allowed,
        source: err.source,
        file: err.file,
      },
      { field: "x.y", value: [1], allowed: "z", source: "crd", file: "f.yml" },
    );
    assert.equal(err.cause, cause);
  });
});

describe("formatValue", () => {
  const long = "x".repeat(200);
  const cyclic: Record<string, unknown> = {};
  cyclic["self"] = cyclic;
  const cases: [string, unknown, string][] = [
    ["quotes strings", "a", '"a"'],
    ["shows numbers bare", 8080, "8080"],
    ["shows objects as JSON", { a: [1] }, '{"a":[1]}'],
    ["says when a value is missing", undefined, "(missing)"],
    ["cuts long values to one short line", long, `"${"x".repeat(116)}...`],
    ["survives values JSON cannot show", cyclic, "[object Object]"],
  ];
  for (const [name, value, expected] of cases) {
    it(name, () => assert.equal(formatValue(value), expected));
  }
});
