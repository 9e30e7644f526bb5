import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { REGEX_ALLOWED, Regex } from "./regex.js";

describe("Regex", () => {
  const cases: [string, string, boolean][] = [
    ["nginx", "/usr/sbin/nginx", true],
    ["^/usr/sbin/nginx$", "/usr/sbin/nginx", true],
    ["^nginx$", "/usr/sbin/nginx", false],
    ["(?i)JAVA", "/opt/jdk/bin/java", true],
    ["server$", "/app/server", true],
    ["server$", "/app/server2", false],
    [".*", "", true],
  ];
  for (const [source, input, expected] of cases) {
    it(`"${source}" ${expected ? "matches" : "does not match"} "${input}" (unanchored, like Go)`, () => {
      const re = Regex.compile(source, "exe_path");
      assert.equal(re.test(input), expected);
      assert.equal(re.source, source);
      assert.equal(String(re), source);
      assert.equal(JSON.stringify({ re }), JSON.stringify({ re: source }));
    });
  }

  it("runs in linear time on the classic catastrophic-backtracking pattern", () => {
    const re = Regex.compile("(a+)+$", "exe_path");
    const start = process.hrtime.bigint();
    assert.equal(re.test(`${"a".repeat(5000)}!`), false);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.ok(ms < 1000, `took ${ms} ms`);
  });

  const bad: [string, string][] = [
    ["a(b", "missing closing ): `a(b`"],
    ["(?<=x)y", "invalid named capture: `(?<=x)y`"],
    ["\\1", "invalid escape sequence: `\\1`"],
    ["x**", "invalid nested repetition operator: `**`"],
    ["[z-a]", "invalid character class range: `z-a`"],
  ];
  for (const [source, reason] of bad) {
    it(`rejects "${source}", which RE2 cannot compile`, () => {
      assert.throws(() => Regex.compile(source, "discovery.services[0].exe_path"), {
        name: "ConfigError",
        field: "discovery.services[0].exe_path",
        message: `config: field "discovery.services[0].exe_path": value ${JSON.stringify(source)} is not a valid RE2 regular expression (error parsing regexp: ${reason}); allowed: ${REGEX_ALLOWED}`,
      });
    });
  }

  it("rejects a value that is not a string", () => {
    assert.throws(() => Regex.compile(42, "executable_name"), {
      message: `config: field "executable_name": value 42 is not a string; allowed: ${REGEX_ALLOWED}`,
    });
  });

  it("names the environment variable", () => {
    assert.throws(() => Regex.compile("(", "BEYLA_EXECUTABLE_NAME", "env"), {
      field: "BEYLA_EXECUTABLE_NAME",
      source: "env",
    });
  });
});
