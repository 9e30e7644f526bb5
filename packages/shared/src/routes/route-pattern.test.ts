import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PATTERN_ALLOWED, compilePattern, type PatternSegment } from "./route-pattern.js";

describe("compilePattern", () => {
  const good: [string, PatternSegment[]][] = [
    ["/", []],
    ["/users", [{ kind: "literal", text: "users" }]],
    [
      "/users/:id",
      [
        { kind: "literal", text: "users" },
        { kind: "param", name: "id" },
      ],
    ],
    [
      "/users/{id}/items",
      [
        { kind: "literal", text: "users" },
        { kind: "param", name: "id" },
        { kind: "literal", text: "items" },
      ],
    ],
    ["/a/*/b", [{ kind: "literal", text: "a" }, { kind: "star" }, { kind: "literal", text: "b" }]],
    ["/a/*", [{ kind: "literal", text: "a" }, { kind: "tail" }]],
    ["/a/**", [{ kind: "literal", text: "a" }, { kind: "tail" }]],
    [
      "//a//:b_c-d.e/",
      [
        { kind: "literal", text: "a" },
        { kind: "param", name: "b_c-d.e" },
      ],
    ],
    ["/app.js", [{ kind: "literal", text: "app.js" }]],
  ];
  for (const [text, segments] of good) {
    it(`compiles ${text}`, () =>
      assert.deepEqual(compilePattern(text, "routes.patterns[0]"), { text, segments }));
  }

  const bad: [unknown, string][] = [
    [42, "value 42 is not a string"],
    ["users/:id", 'value "users/:id" does not start with "/"'],
    ["", 'value "" does not start with "/"'],
    ["/a?b=1", 'value "/a?b=1" has a query string or fragment (routes never include them)'],
    ["/a#b", 'value "/a#b" has a query string or fragment (routes never include them)'],
    ["/a/**/b", 'value "/a/**/b" has "**" before the last segment'],
    ["/a/:", 'value "/a/:" has an invalid parameter ":"'],
    ["/a/{}", 'value "/a/{}" has an invalid parameter "{}"'],
    ["/a/{b c}", 'value "/a/{b c}" has an invalid parameter "{b c}"'],
    ["/a/:b:c", 'value "/a/:b:c" has an invalid parameter ":b:c"'],
    [
      "/files/*.js",
      'value "/files/*.js" has "*.js": wildcards and parameters must be whole segments',
    ],
    ["/a/x{id}", 'value "/a/x{id}" has "x{id}": wildcards and parameters must be whole segments'],
    ["/a/{id", 'value "/a/{id" has "{id": wildcards and parameters must be whole segments'],
  ];
  for (const [text, problem] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => compilePattern(text, "routes.patterns[3]"), {
        name: "ConfigError",
        field: "routes.patterns[3]",
        message: `config: field "routes.patterns[3]": ${problem}; allowed: ${PATTERN_ALLOWED}`,
      });
    });
  }
});
