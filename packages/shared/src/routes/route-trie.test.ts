import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compilePattern } from "./route-pattern.js";
import { RouteTrie } from "./route-trie.js";

const trie = (...patterns: string[]) => new RouteTrie(patterns.map((p) => compilePattern(p, "p")));

describe("RouteTrie", () => {
  const t = trie(
    "/",
    "/users/:id",
    "/users/me",
    "/users/{id}/items",
    "/users/*",
    "/users/:id/items/:item",
    "/a/*/c",
    "/a/:x/c",
    "/files/**",
    "/docs/*",
  );
  const cases: [string, string, string | undefined][] = [
    ["matches the root pattern", "/", "/"],
    ["matches a parameter", "/users/42", "/users/:id"],
    ["prefers a literal over a parameter", "/users/me", "/users/me"],
    ["matches a {param} in the middle", "/users/42/items", "/users/{id}/items"],
    ["matches two parameters", "/users/42/items/7", "/users/:id/items/:item"],
    ["falls back to the trailing wildcard", "/users/42/orders", "/users/*"],
    ["lets a trailing * match no segment", "/users", "/users/*"],
    ["prefers a parameter over a one-segment *", "/a/b/c", "/a/:x/c"],
    ["matches ** at any depth", "/files/a/b/c.txt", "/files/**"],
    ["lets ** match no segment", "/files", "/files/**"],
    ["matches a trailing * at any depth", "/docs/x/y", "/docs/*"],
    ["ignores a trailing slash", "/users/42/", "/users/:id"],
    ["ignores repeated slashes", "//users//42", "/users/:id"],
    ["is case-sensitive", "/Users/42", undefined],
    ["does not match a parameter against nothing", "/a//c", undefined],
    ["misses an unknown path", "/other", undefined],
    ["backtracks from a literal branch that fails later", "/users/me/items", "/users/{id}/items"],
  ];
  for (const [name, path, expected] of cases) {
    it(`${name}: ${path}`, () => assert.equal(t.match(path), expected));
  }

  it("keeps the first of two patterns of the same shape", () => {
    assert.equal(trie("/u/:id", "/u/{uid}").match("/u/1"), "/u/:id");
    assert.equal(trie("/u/*", "/u/**").match("/u/1/2"), "/u/*");
  });

  it("matches nothing when empty", () => {
    assert.equal(new RouteTrie().match("/"), undefined);
    assert.equal(new RouteTrie().patternCount, 0);
  });

  it("counts its patterns", () => assert.equal(t.patternCount, 10));

  it("stays fast on adversarial pattern sets", () => {
    const patterns: string[] = [];
    for (let i = 0; i < 20; i++) {
      patterns.push(`/${"x/".repeat(i)}:p/${"*/".repeat(20 - i)}end`);
      patterns.push(`/${"x/".repeat(20)}literal${i}`);
    }
    const big = trie(...patterns);
    const path = `/${"x/".repeat(40)}nope`;
    const start = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) assert.equal(big.match(path), undefined);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.ok(ms < 1000, `1000 matches took ${ms} ms`);
  });
});
