import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { heuristicRoute } from "./heuristic.js";

describe("heuristicRoute", () => {
  const cases: [string, string, string][] = [
    ["replaces a numeric id", "/users/123", "/users/*"],
    [
      "replaces a hex id and keeps a version segment",
      "/api/v1/orders/9f8a7b6c",
      "/api/v1/orders/*",
    ],
    ["drops the query string from the route", "/v1/items?x=1", "/v1/items"],
    ["drops the fragment", "/docs/intro#part", "/docs/intro"],
    ["keeps the root", "/", "/"],
    ["gives / for an empty path", "", "/"],
    ["gives / for only a query", "?x=1", "/"],
    ["replaces a file name (a dot is not a letter)", "/static/app.js", "/static/*"],
    ["replaces a name the model finds unlike English", "/users/john", "/users/*"],
    ["keeps a name spelt like English", "/users/mary", "/users/mary"],
    ["replaces random letters", "/xkqzvw", "/*"],
    ["replaces upper case with a digit", "/ZXCVB9", "/*"],
    ["keeps real words", "/checkout/health/metrics", "/checkout/health/metrics"],
    ["tolerates one digit as second character", "/v2/h2/s3", "/v2/h2/s3"],
    ["keeps words after that digit", "/api/v1beta/users", "/api/v1beta/users"],
    ["replaces two digits", "/v10/items", "/*/items"],
    ["replaces a digit in first position", "/2fa", "/*"],
    ["replaces a digit in third position", "/abc1", "/*"],
    ["keeps kebab-case words", "/how-to-cook-pasta", "/how-to-cook-pasta"],
    ["keeps snake_case words", "/order_items", "/order_items"],
    ["keeps camelCase words", "/getUserById", "/getUserById"],
    ["replaces when one word of several is random", "/order-xkqzvwpt", "/*"],
    ["replaces a UUID", "/orders/3f2b8c1e-9d4a-4b6f-8e2a-1c3d5e7f9a0b/items", "/orders/*/items"],
    [
      "replaces a mixed-case token without digits",
      "/document/d/CfMkAGbE_aivhFydEpaRafPuGWbmHfG/edit",
      "/document/d/*/edit",
    ],
    [
      "replaces a mixed-case token with digits",
      "/document/d/C2fMkAGb3E_aivhFyd5EpaRafP123uGWbmHfG/edit",
      "/document/d/*/edit",
    ],
    ["replaces percent-encoding", "/search/caf%C3%A9", "/search/*"],
    ["replaces non-ASCII letters", "/café", "/*"],
    ["replaces other punctuation", "/a:b/c@d/e~f", "/*/*/*"],
    ["collapses consecutive slashes", "//users///123", "/users/*"],
    ["keeps a trailing slash as in the input", "/users/123/", "/users/*/"],
    ["keeps a trailing slash after collapsing", "/users//", "/users/"],
    ["gives / for slashes only", "///", "/"],
    ["keeps short segments (too short to judge)", "/xq/zz/id", "/xq/zz/id"],
    ["keeps underscores and dashes alone", "/_/-", "/_/-"],
    ["uses only the path of an absolute-form target", "http://example.com/users/42?x", "/users/*"],
    ["prefixes a slash to a relative target", "users/42", "/users/*"],
  ];
  for (const [name, input, expected] of cases) {
    it(`${name}: ${JSON.stringify(input)} -> ${expected}`, () =>
      assert.equal(heuristicRoute(input), expected));
  }

  it("uses the configured wildcard character", () => {
    assert.equal(heuristicRoute("/users/123/orders/9f8a", "_"), "/users/_/orders/_");
  });
});
