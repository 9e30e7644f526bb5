import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EnvReader } from "./env-reader.js";
import { parsePrometheus, resolveMaxSeries, resolveMetricsTtl } from "./parse-metrics.js";
import { YamlObject } from "./yaml-object.js";

const prom = (yaml: Record<string, unknown>, env: Record<string, string> = {}) =>
  parsePrometheus(YamlObject.from(yaml, "prometheus_export"), new EnvReader(env));

describe("parsePrometheus", () => {
  const cases: [string, Record<string, unknown>, Record<string, string>, unknown][] = [
    ["is off without a port", {}, {}, undefined],
    ["is off with port 0", { port: 0 }, {}, undefined],
    ["defaults the path to /metrics", { port: 9090 }, {}, { port: 9090, path: "/metrics" }],
    ["reads the YAML path", { port: 9090, path: "/prom" }, {}, { port: 9090, path: "/prom" }],
    [
      "lets the environment override both",
      { port: 9090, path: "/prom" },
      { BEYLA_PROMETHEUS_PORT: "9400", BEYLA_PROMETHEUS_PATH: "/m" },
      { port: 9400, path: "/m" },
    ],
    [
      "turns on from the environment alone",
      {},
      { BEYLA_PROMETHEUS_PORT: "8999" },
      { port: 8999, path: "/metrics" },
    ],
    [
      "turns off when the environment says 0",
      { port: 9090 },
      { BEYLA_PROMETHEUS_PORT: "0" },
      undefined,
    ],
  ];
  for (const [name, yaml, env, expected] of cases) {
    it(name, () => assert.deepEqual(prom(yaml, env), expected));
  }

  const bad: [string, Record<string, unknown>, Record<string, string>, string][] = [
    [
      "a port above 65535",
      { port: 70000 },
      {},
      'config: field "prometheus_export.port": value 70000 is not allowed; allowed: an integer from 0 to 65535',
    ],
    [
      "a port as text",
      { port: "9090" },
      {},
      'config: field "prometheus_export.port": value "9090" (a string) has the wrong type; allowed: an integer from 0 to 65535',
    ],
    [
      "a bad port variable",
      {},
      { BEYLA_PROMETHEUS_PORT: "http" },
      'config: environment variable "BEYLA_PROMETHEUS_PORT": value "http" is not allowed; allowed: an integer from 0 to 65535',
    ],
    [
      "a path without a slash",
      { port: 1, path: "metrics" },
      {},
      'config: field "prometheus_export.path": value "metrics" is not allowed; allowed: a URL path starting with "/", e.g. "/metrics"',
    ],
    [
      "a path variable without a slash",
      { port: 1 },
      { BEYLA_PROMETHEUS_PATH: "metrics" },
      'config: environment variable "BEYLA_PROMETHEUS_PATH": value "metrics" is not allowed; allowed: a URL path starting with "/", e.g. "/metrics"',
    ],
  ];
  for (const [name, yaml, env, message] of bad) {
    it(`rejects ${name}`, () =>
      assert.throws(() => prom(yaml, env), { name: "ConfigError", message }));
  }
});

describe("resolveMetricsTtl", () => {
  const ttl = (
    p: Record<string, unknown>,
    o: Record<string, unknown>,
    env: Record<string, string> = {},
  ) => {
    const warnings: string[] = [];
    const ms = resolveMetricsTtl(
      YamlObject.from(p, "prometheus_export"),
      YamlObject.from(o, "otel_metrics_export"),
      new EnvReader(env),
      warnings,
    );
    return { ms, warnings };
  };
  const cases: [
    string,
    Record<string, unknown>,
    Record<string, unknown>,
    Record<string, string>,
    number,
    string[],
  ][] = [
    ["defaults to 5 minutes", {}, {}, {}, 300_000, []],
    ["reads prometheus_export.ttl", { ttl: "1m" }, {}, {}, 60_000, []],
    ["reads otel_metrics_export.ttl", {}, { ttl: "2m" }, {}, 120_000, []],
    [
      "takes the shorter of two different YAML values and warns",
      { ttl: "1m" },
      { ttl: "2m" },
      {},
      60_000,
      [
        'config: "prometheus_export.ttl" and "otel_metrics_export.ttl" differ; this agent keeps one metrics TTL and uses the shorter, 60000ms',
      ],
    ],
    ["does not warn about equal values", { ttl: "60s" }, { ttl: "1m" }, {}, 60_000, []],
    [
      "lets exporter variables override YAML",
      { ttl: "1m" },
      {},
      { BEYLA_PROMETHEUS_TTL: "30s" },
      30_000,
      [],
    ],
    [
      "lets BEYLA_METRICS_TTL override everything",
      { ttl: "1m" },
      {},
      { BEYLA_PROMETHEUS_TTL: "30s", BEYLA_METRICS_TTL: "10m" },
      600_000,
      [],
    ],
    [
      "takes the shorter of two exporter variables",
      {},
      {},
      { BEYLA_PROMETHEUS_TTL: "30s", BEYLA_OTEL_METRICS_TTL: "20s" },
      20_000,
      [
        'config: "BEYLA_PROMETHEUS_TTL" and "BEYLA_OTEL_METRICS_TTL" differ; this agent keeps one metrics TTL and uses the shorter, 20000ms',
      ],
    ],
  ];
  for (const [name, p, o, env, ms, warnings] of cases) {
    it(name, () => assert.deepEqual(ttl(p, o, env), { ms, warnings }));
  }

  it("rejects a bad TTL", () => {
    assert.throws(() => ttl({ ttl: "forever" }, {}), {
      message:
        'config: field "prometheus_export.ttl": value "forever" is not allowed; allowed: a duration such as "500ms", "10s", "5m" or "1h30m" (units ns, us, ms, s, m, h)',
    });
    assert.throws(() => ttl({}, {}, { BEYLA_METRICS_TTL: "0" }), {
      message:
        'config: environment variable "BEYLA_METRICS_TTL": value "0" is not allowed; allowed: a duration of at least 1ms',
    });
  });
});

describe("resolveMaxSeries", () => {
  const max = (yaml: Record<string, unknown>, env: Record<string, string> = {}) =>
    resolveMaxSeries(YamlObject.from(yaml, ""), new EnvReader(env));
  it("defaults to 10000", () => assert.equal(max({}), 10_000));
  it("reads metrics_max_series", () => assert.equal(max({ metrics_max_series: 500 }), 500));
  it("lets BEYLA_METRICS_MAX_SERIES override it", () =>
    assert.equal(max({ metrics_max_series: 500 }, { BEYLA_METRICS_MAX_SERIES: "20" }), 20));
  it("rejects zero", () =>
    assert.throws(() => max({ metrics_max_series: 0 }), {
      message:
        'config: field "metrics_max_series": value 0 is not allowed; allowed: an integer from 1 to 10000000',
    }));
});
