import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HEADERS_ALLOWED, parseOtlpHeaders } from "./otlp-headers.js";

describe("parseOtlpHeaders", () => {
  const good: [string, Record<string, string>][] = [
    ["Authorization=Basic%20abc", { Authorization: "Basic abc" }],
    ["a=1,b=2", { a: "1", b: "2" }],
    [" a = 1 , b=2 ,", { a: "1", b: "2" }],
    ["a=x=y", { a: "x=y" }],
    ["a=", { a: "" }],
    ["a=1,a=2", { a: "2" }],
    ["x%2Dorg=%E2%9C%93", { "x-org": "✓" }],
    ["", {}],
  ];
  for (const [text, expected] of good) {
    it(`reads ${JSON.stringify(text)}`, () =>
      assert.deepEqual(parseOtlpHeaders(text, "V"), expected));
  }

  const bad: [string, string][] = [
    ["Authorization", "item 1 is not a key=value pair"],
    ["a=1,=secret", "item 2 is not a key=value pair"],
    ["a=1,%ZZ=secret", "item 2 has an invalid key"],
    ["a=1,%20=secret", "item 2 has an invalid key"],
    ["my key=secret", "item 1 has an invalid key"],
    ["api-key=%E0%A4%A", 'item 1 (key "api-key") has invalid percent-encoding'],
  ];
  for (const [text, problem] of bad) {
    it(`rejects ${JSON.stringify(text)} without echoing the secret`, () => {
      assert.throws(
        () => parseOtlpHeaders(text, "OTEL_EXPORTER_OTLP_HEADERS"),
        (err: Error) => {
          assert.equal(
            err.message,
            `config: environment variable "OTEL_EXPORTER_OTLP_HEADERS": ${problem}; allowed: ${HEADERS_ALLOWED}`,
          );
          assert.equal((err as { value?: unknown }).value, "(redacted)");
          assert.ok(!err.message.includes("secret"));
          return true;
        },
      );
    });
  }
});
