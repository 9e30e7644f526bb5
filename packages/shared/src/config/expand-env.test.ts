import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expandEnv } from "./expand-env.js";

describe("expandEnv", () => {
  const env = { PORT: "9090", EMPTY: "", HOST: "collector" };
  const cases: [string, string, string][] = [
    ["replaces ${VAR}", "port: ${PORT}", "port: 9090"],
    ["replaces several", "${HOST}:${PORT}", "collector:9090"],
    ["makes an unset ${VAR} empty", "x: ${NOPE}", "x: "],
    ["keeps an empty ${VAR} empty", "x: ${EMPTY}", "x: "],
    ["uses the default when unset", "x: ${NOPE:-8080}", "x: 8080"],
    ["uses the default when empty", "x: ${EMPTY:-8080}", "x: 8080"],
    ["ignores the default when set", "x: ${PORT:-8080}", "x: 9090"],
    ["allows an empty default", "x: ${NOPE:-}", "x: "],
    ["allows a default with colons and slashes", "${NOPE:-http://h:4318}", "http://h:4318"],
    ["turns $${ into a literal ${", "x: $${PORT}", "x: ${PORT}"],
    [
      "leaves bare $VAR alone (regexes use $)",
      "exe_path: server$|$PORT",
      "exe_path: server$|$PORT",
    ],
    ["leaves an invalid name alone", "x: ${1A} ${A B}", "x: ${1A} ${A B}"],
    ["leaves an unclosed reference alone", "x: ${PORT", "x: ${PORT"],
    ["leaves a default that runs past the line alone", "x: ${A:-b\n}", "x: ${A:-b\n}"],
    ["leaves an unclosed default alone", "x: ${A:-b", "x: ${A:-b"],
    ["leaves other modifiers alone", "x: ${PORT:+y}", "x: ${PORT:+y}"],
    ["handles a trailing $", "x: $", "x: $"],
    ["handles text without references", "a: b", "a: b"],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => assert.equal(expandEnv(input, env), expected));
  }
});
