import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pathOf } from "./path.js";

describe("pathOf", () => {
  const cases: [string, string, string][] = [
    ["keeps a plain path", "/users/1", "/users/1"],
    ["drops the query string", "/v1/items?x=1", "/v1/items"],
    ["drops the fragment", "/doc#intro", "/doc"],
    ["drops a fragment after a query", "/a?b=1#c", "/a"],
    ["drops a query that holds a URL", "/r?to=http://x/y", "/r"],
    ["keeps only the path of an absolute-form target", "http://host:8080/a/b?c", "/a/b"],
    ["gives / for an absolute-form target without a path", "https://host", "/"],
    ["gives / for an absolute-form target with only a query", "http://host?x=1", "/"],
    ["leaves an asterisk target alone", "*", "*"],
    ["gives the empty string for an empty target", "", ""],
    ["gives the empty string for a bare query", "?x=1", ""],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => assert.equal(pathOf(input), expected));
  }

  it("returns the same string when there is nothing to cut", () => {
    const s = "/users/1";
    assert.equal(pathOf(s), s);
  });
});
