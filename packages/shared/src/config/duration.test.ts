import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DURATION_ALLOWED, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  const good: [string, number][] = [
    ["5m", 300_000],
    ["500ms", 500],
    ["10s", 10_000],
    ["1h30m", 5_400_000],
    ["1.5h", 5_400_000],
    ["2h45m30s", 9_930_000],
    ["250us", 0.25],
    ["250µs", 0.25],
    ["1000000ns", 1],
    [".5s", 500],
    ["0", 0],
    [" 5s ", 5000],
  ];
  for (const [text, ms] of good) {
    it(`reads "${text}" as ${ms} ms`, () => assert.equal(parseDuration(text), ms));
  }

  const bad = ["", "5", "m", "5x", "-5s", "5 s", "1.2.3s", ".s", "s5", "5mm", "1e3s", "Infinitys"];
  for (const text of bad) {
    it(`rejects "${text}" naming the field`, () => {
      assert.throws(() => parseDuration(text, "prometheus_export.ttl"), {
        name: "ConfigError",
        field: "prometheus_export.ttl",
        message: `config: field "prometheus_export.ttl": value ${JSON.stringify(text)} is not allowed; allowed: ${DURATION_ALLOWED}`,
      });
    });
  }

  it("names an environment variable", () => {
    assert.throws(() => parseDuration("soon", "BEYLA_METRICS_TTL", "env"), {
      message: `config: environment variable "BEYLA_METRICS_TTL": value "soon" is not allowed; allowed: ${DURATION_ALLOWED}`,
    });
  });

  it("rejects a duration too long to represent", () => {
    assert.throws(() => parseDuration(`${"9".repeat(400)}h`), { name: "ConfigError" });
  });
});
