import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseYamlRoot } from "./parse-yaml.js";

describe("parseYamlRoot", () => {
  it("reads empty text as an empty mapping", () => {
    assert.deepEqual(parseYamlRoot("", {}).keys(), []);
    assert.deepEqual(parseYamlRoot("# only a comment\n", {}).keys(), []);
  });

  it("expands ${VAR} before parsing, so numbers stay numbers", () => {
    const root = parseYamlRoot("prometheus_export:\n  port: ${PORT:-9090}\n", { PORT: "9400" });
    assert.equal(root.object("prometheus_export").int("port", 0, 65535), 9400);
  });

  it("keeps yes/on as strings (YAML 1.2)", () => {
    assert.equal(parseYamlRoot("a: yes\n", {}).string("a"), "yes");
  });

  const bad: [string, string, string][] = [
    [
      "a syntax error",
      "a: [",
      'config: field "(document)": YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ] at line 1, column 5; allowed: a single YAML document with a mapping at the top',
    ],
    [
      "a duplicate key",
      "a: 1\na: 2\n",
      'config: field "(document)": YAML syntax error: Map keys must be unique at line 2, column 1; allowed: a single YAML document with a mapping at the top',
    ],
    [
      "several documents",
      "a: 1\n---\nb: 2\n",
      'config: field "(document)": YAML syntax error: Source contains multiple documents; please use YAML.parseAllDocuments() at line 2, column 1; allowed: a single YAML document with a mapping at the top',
    ],
    [
      "a list at the top",
      "- a\n",
      'config: field "(document)": value ["a"] (a list) is not a mapping; allowed: a mapping of keys to values',
    ],
  ];
  for (const [name, text, message] of bad) {
    it(`rejects ${name}`, () =>
      assert.throws(() => parseYamlRoot(text, {}), { name: "ConfigError", message }));
  }

  it("rejects alias bombs", () => {
    const lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 8; i++) {
      const prev = `*a${i - 1}`;
      lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => prev).join(", ")}]`);
    }
    assert.throws(
      () => parseYamlRoot(lines.join("\n"), {}),
      (err: Error) => {
        assert.equal(err.name, "ConfigError");
        assert.match(err.message, /^config: field "\(document\)": YAML error: /);
        return true;
      },
    );
  });
});
