import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { closest, didYouMean, editDistance } from "./did-you-mean.js";

describe("editDistance", () => {
  const cases: [string, string, number][] = [
    ["", "", 0],
    ["abc", "abc", 0],
    ["abc", "", 3],
    ["unmatched", "unmatchd", 1],
    ["open_port", "open_ports", 1],
    ["ignore_mode", "ingore_mode", 1],
    ["kitten", "sitting", 3],
  ];
  for (const [a, b, d] of cases) {
    it(`counts ${d} edits between "${a}" and "${b}"`, () => assert.equal(editDistance(a, b), d));
  }
});

describe("closest", () => {
  const keys = ["patterns", "ignored_patterns", "ignore_mode", "unmatched"];
  const cases: [string, string | undefined][] = [
    ["unmatchd", "unmatched"],
    ["ignore_patterns", "ignored_patterns"],
    ["IGNORE_MODE", "ignore_mode"],
    ["pattern", "patterns"],
    ["colour", undefined],
    ["x", undefined],
  ];
  for (const [input, expected] of cases) {
    it(`suggests ${String(expected)} for "${input}"`, () =>
      assert.equal(closest(input, keys), expected));
  }

  it("suggests a known value that starts the input", () => {
    assert.equal(closest("warning", ["debug", "info", "warn", "error"]), "warn");
    assert.equal(closest("xyz", ["x"]), undefined);
  });

  it("formats a suggestion, or nothing", () => {
    assert.equal(didYouMean("unmatchd", keys), ' (did you mean "unmatched"?)');
    assert.equal(didYouMean("zzz", keys), "");
  });
});
