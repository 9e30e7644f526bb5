import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EnvReader } from "./env-reader.js";

describe("EnvReader", () => {
  const env = new EnvReader({
    EMPTY: "",
    BLANK: "  ",
    NAME: "svc",
    PORT: " 9090 ",
    BIG: "70000",
    NEG: "-1",
    HEX: "0x10",
    LEVEL: "DEBUG",
    TYPO: "inf",
    DUR: "10s",
    ZERO: "0",
    BAD_DUR: "10",
    YES: "TRUE",
    NO: "false",
    MAYBE: "maybe",
  });

  it("treats empty and blank values as unset", () => {
    assert.equal(env.string("EMPTY"), undefined);
    assert.equal(env.string("BLANK"), undefined);
    assert.equal(env.string("MISSING"), undefined);
    assert.equal(env.int("EMPTY", 0, 1), undefined);
    assert.equal(env.duration("EMPTY", 1), undefined);
    assert.equal(env.enumOf("EMPTY", ["a"]), undefined);
    assert.equal(env.bool("EMPTY"), undefined);
  });

  it("reads well-formed values", () => {
    assert.equal(env.string("NAME"), "svc");
    assert.equal(env.int("PORT", 1, 65535), 9090);
    assert.equal(env.enumOf("LEVEL", ["debug", "info"]), "debug");
    assert.equal(env.duration("DUR", 1), 10_000);
    assert.equal(env.bool("YES"), true);
    assert.equal(env.bool("NO"), false);
  });

  const bad: [string, () => unknown, string][] = [
    [
      "an integer out of range",
      () => env.int("BIG", 1, 65535),
      'config: environment variable "BIG": value "70000" is not allowed; allowed: an integer from 1 to 65535',
    ],
    [
      "a negative integer",
      () => env.int("NEG", 0, 9),
      'config: environment variable "NEG": value "-1" is not allowed; allowed: an integer from 0 to 9',
    ],
    [
      "a hex integer",
      () => env.int("HEX", 0, 99),
      'config: environment variable "HEX": value "0x10" is not allowed; allowed: an integer from 0 to 99',
    ],
    [
      "a misspelt enum value",
      () => env.enumOf("TYPO", ["info", "warn"]),
      'config: environment variable "TYPO": value "inf" is not allowed (did you mean "info"?); allowed: one of info, warn',
    ],
    [
      "a duration without a unit",
      () => env.duration("BAD_DUR", 1),
      'config: environment variable "BAD_DUR": value "10" is not allowed; allowed: a duration such as "500ms", "10s", "5m" or "1h30m" (units ns, us, ms, s, m, h)',
    ],
    [
      "a duration below the minimum",
      () => env.duration("ZERO", 1),
      'config: environment variable "ZERO": value "0" is not allowed; allowed: a duration of at least 1ms',
    ],
    [
      "a boolean that is not true or false",
      () => env.bool("MAYBE"),
      'config: environment variable "MAYBE": value "maybe" is not allowed; allowed: one of true, false',
    ],
  ];
  for (const [name, read, message] of bad) {
    it(`rejects ${name}, naming the variable`, () =>
      assert.throws(read, { name: "ConfigError", source: "env", message }));
  }
});
