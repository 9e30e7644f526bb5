import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RoutesConfig } from "../config/types.js";
import { RouteMatcher } from "./route-matcher.js";

const cfg = (over: Partial<RoutesConfig> = {}): RoutesConfig => ({
  patterns: [],
  ignoredPatterns: [],
  ignoreMode: "all",
  unmatched: "heuristic",
  ...over,
});

describe("RouteMatcher.route", () => {
  const patterns = ["/users/:id", "/users/{id}/items", "/users/me", "/static/**"];
  const cases: [string, RoutesConfig["unmatched"], string, string | undefined][] = [
    ["sets the route to a :param pattern", "heuristic", "/users/42", "/users/:id"],
    ["sets the route to a {param} pattern", "heuristic", "/users/42/items", "/users/{id}/items"],
    ["prefers the most specific pattern", "heuristic", "/users/me", "/users/me"],
    ["drops the query string before matching", "heuristic", "/users/42?expand=1", "/users/:id"],
    ["matches a trailing wildcard pattern", "heuristic", "/static/js/app.js", "/static/**"],
    ["falls back to the heuristic", "heuristic", "/orders/9f8a7b6c?x=1", "/orders/*"],
    ["falls back to the path", "path", "/orders/9f8a7b6c?x=1", "/orders/9f8a7b6c"],
    ["gives / for an empty path in path mode", "path", "", "/"],
    ["falls back to /**", "wildcard", "/orders/1", "/**"],
    ["leaves the route unset", "unset", "/orders/1", undefined],
    ["still matches patterns in unset mode", "unset", "/users/1", "/users/:id"],
  ];
  for (const [name, unmatched, path, expected] of cases) {
    it(`${name}: ${path}`, () =>
      assert.equal(new RouteMatcher(cfg({ patterns, unmatched })).route(path), expected));
  }

  it("uses the configured wildcard character in the heuristic", () => {
    assert.equal(new RouteMatcher(cfg({ wildcardChar: "#" })).route("/users/1"), "/users/#");
  });

  it("rejects a bad pattern naming its index", () => {
    assert.throws(() => new RouteMatcher(cfg({ patterns: ["/ok", "bad"] })), {
      name: "ConfigError",
      field: "routes.patterns[1]",
    });
    assert.throws(() => new RouteMatcher(cfg({ ignoredPatterns: ["/a/**/b"] })), {
      name: "ConfigError",
      field: "routes.ignored_patterns[0]",
    });
  });
});

describe("RouteMatcher.ignored", () => {
  const modes: RoutesConfig["ignoreMode"][] = ["all", "traces", "metrics"];
  for (const ignoreMode of modes) {
    it(`answers "${ignoreMode}" for an ignored path and "none" otherwise`, () => {
      const m = new RouteMatcher(cfg({ ignoredPatterns: ["/health", "/v1/*"], ignoreMode }));
      assert.equal(m.ignored("/health"), ignoreMode);
      assert.equal(m.ignored("/health?full=1"), ignoreMode);
      assert.equal(m.ignored("/v1"), ignoreMode);
      assert.equal(m.ignored("/v1/anything/below"), ignoreMode);
      assert.equal(m.ignored("/healthz"), "none");
      assert.equal(m.ignored("/v2/x"), "none");
    });
  }

  it('answers "none" without ignored patterns', () => {
    assert.equal(new RouteMatcher(cfg()).ignored("/health"), "none");
  });

  it("ignores a path that also has a route", () => {
    const m = new RouteMatcher(cfg({ patterns: ["/health"], ignoredPatterns: ["/health"] }));
    assert.equal(m.route("/health"), "/health");
    assert.equal(m.ignored("/health"), "all");
  });
});

describe("RouteMatcher cache", () => {
  it("remembers paths without their query string and counts hits, misses and evictions", () => {
    const m = new RouteMatcher(cfg({ ignoredPatterns: ["/h"] }), { cacheSize: 2 });
    m.route("/a/1?x=1");
    m.route("/a/1?x=2");
    m.ignored("/a/1");
    m.route("/b/2");
    m.route("/c/3");
    assert.deepEqual(m.cacheStats(), { hits: 2, misses: 3, evictions: 1, size: 2, capacity: 2 });
  });

  it("gives the same answers from the cache", () => {
    const m = new RouteMatcher(cfg({ patterns: ["/u/:id"], unmatched: "unset" }), { cacheSize: 8 });
    for (let i = 0; i < 3; i++) {
      assert.equal(m.route("/u/1"), "/u/:id");
      assert.equal(m.route("/x"), undefined);
    }
    assert.equal(m.cacheStats().hits, 4);
  });
});
