import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRoutes } from "./parse-routes.js";
import { YamlObject } from "./yaml-object.js";

const routes = (value: Record<string, unknown>) => parseRoutes(YamlObject.from(value, "routes"));

describe("parseRoutes", () => {
  it("defaults to the heuristic, ignore mode all and *", () => {
    assert.deepEqual(routes({}), {
      patterns: [],
      ignoredPatterns: [],
      ignoreMode: "all",
      unmatched: "heuristic",
      wildcardChar: "*",
    });
  });

  it("reads every key", () => {
    assert.deepEqual(
      routes({
        patterns: ["/users/:id", "/users/{id}/items"],
        ignored_patterns: ["/health", "/static/**"],
        ignore_mode: "traces",
        unmatched: "wildcard",
        wildcard_char: "_",
      }),
      {
        patterns: ["/users/:id", "/users/{id}/items"],
        ignoredPatterns: ["/health", "/static/**"],
        ignoreMode: "traces",
        unmatched: "wildcard",
        wildcardChar: "_",
      },
    );
  });

  const bad: [string, Record<string, unknown>, string][] = [
    [
      "an unknown unmatched mode",
      { unmatched: "foo" },
      'config: field "routes.unmatched": value "foo" is not allowed; allowed: one of heuristic, path, wildcard, unset',
    ],
    [
      "an unknown ignore mode",
      { ignore_mode: "logs" },
      'config: field "routes.ignore_mode": value "logs" is not allowed; allowed: one of all, traces, metrics',
    ],
    [
      "the Alloy spelling ignore_patterns, with a suggestion",
      { ignore_patterns: ["/h"] },
      'config: field "routes.ignore_patterns": unknown key (did you mean "ignored_patterns"?); allowed: one of patterns, ignored_patterns, ignore_mode, unmatched, wildcard_char',
    ],
    [
      "patterns that are not a list",
      { patterns: "/users/:id" },
      'config: field "routes.patterns": value "/users/:id" (a string) has the wrong type; allowed: a list of strings',
    ],
    [
      "a pattern without a leading slash",
      { patterns: ["/ok", "users/:id"] },
      'config: field "routes.patterns[1]": value "users/:id" does not start with "/"; allowed: a path starting with "/" whose segments are literals, :name, {name} or *, with ** or a trailing * matching the rest, e.g. "/users/{id}/items"',
    ],
    [
      "a bad ignored pattern",
      { ignored_patterns: ["/a/**/b"] },
      'config: field "routes.ignored_patterns[0]": value "/a/**/b" has "**" before the last segment; allowed: a path starting with "/" whose segments are literals, :name, {name} or *, with ** or a trailing * matching the rest, e.g. "/users/{id}/items"',
    ],
    [
      "a wildcard char of two characters",
      { wildcard_char: "**" },
      'config: field "routes.wildcard_char": value "**" is not allowed; allowed: a single character other than "/"',
    ],
    [
      "an empty wildcard char",
      { wildcard_char: "" },
      'config: field "routes.wildcard_char": value "" is not allowed; allowed: a single character other than "/"',
    ],
    [
      "a slash as wildcard char",
      { wildcard_char: "/" },
      'config: field "routes.wildcard_char": value "/" is not allowed; allowed: a single character other than "/"',
    ],
  ];
  for (const [name, value, message] of bad) {
    it(`rejects ${name}`, () =>
      assert.throws(() => routes(value), { name: "ConfigError", message }));
  }

  it("accepts a wildcard char outside the BMP as one character", () => {
    assert.equal(routes({ wildcard_char: "🂠" }).wildcardChar, "🂠");
  });
});
