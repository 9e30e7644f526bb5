import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EnvReader } from "./env-reader.js";
import { resolveOtlp, type OtlpSignal } from "./otlp.js";
import type { OtlpExportConfig } from "./types.js";
import { YamlObject } from "./yaml-object.js";

function resolve(
  signal: OtlpSignal,
  yaml: Record<string, unknown>,
  env: Record<string, string> = {},
  warnings: string[] = [],
): OtlpExportConfig | undefined {
  const section = YamlObject.from(
    yaml,
    signal === "metrics" ? "otel_metrics_export" : "otel_traces_export",
  );
  return resolveOtlp(signal, section, new EnvReader(env), warnings);
}

describe("resolveOtlp", () => {
  it("is off without any endpoint", () => {
    assert.equal(resolve("metrics", {}), undefined);
  });

  it("warns when a section is set but has no endpoint", () => {
    const warnings: string[] = [];
    assert.equal(resolve("traces", { protocol: "grpc" }, {}, warnings), undefined);
    assert.deepEqual(warnings, [
      'config: field "otel_traces_export" has no endpoint (nor OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); OTLP traces export is off',
    ]);
  });

  it("fills defaults for metrics", () => {
    assert.deepEqual(resolve("metrics", { endpoint: "http://localhost:4318" }), {
      endpoint: "http://localhost:4318/v1/metrics",
      protocol: "http/protobuf",
      headers: {},
      intervalMs: 60_000,
      insecureSkipVerify: false,
    });
  });

  it("fills defaults for traces", () => {
    assert.deepEqual(resolve("traces", { endpoint: "http://localhost:4318" }), {
      endpoint: "http://localhost:4318/v1/traces",
      protocol: "http/protobuf",
      headers: {},
      intervalMs: 5_000,
      insecureSkipVerify: false,
    });
  });

  const endpoints: [
    string,
    OtlpSignal,
    Record<string, unknown>,
    Record<string, string>,
    string,
    string,
  ][] = [
    [
      "appends the signal path to a YAML base endpoint",
      "metrics",
      { endpoint: "http://h:4318" },
      {},
      "http://h:4318/v1/metrics",
      "http/protobuf",
    ],
    [
      "appends after a YAML base path",
      "metrics",
      { endpoint: "https://otlp.example.com/otlp/" },
      {},
      "https://otlp.example.com/otlp/v1/metrics",
      "http/protobuf",
    ],
    [
      "keeps a YAML endpoint that already ends in the signal path",
      "traces",
      { endpoint: "http://h:4318/v1/traces" },
      {},
      "http://h:4318/v1/traces",
      "http/protobuf",
    ],
    [
      "appends to OTEL_EXPORTER_OTLP_ENDPOINT",
      "traces",
      {},
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" },
      "http://c:4318/v1/traces",
      "http/protobuf",
    ],
    [
      "prefers OTEL_EXPORTER_OTLP_ENDPOINT over YAML",
      "metrics",
      { endpoint: "http://yaml:4318" },
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://env:4318" },
      "http://env:4318/v1/metrics",
      "http/protobuf",
    ],
    [
      "uses the signal variable as-is and above the rest",
      "metrics",
      { endpoint: "http://yaml:4318" },
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://env:4318",
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://sig:9999/custom",
      },
      "http://sig:9999/custom",
      "http/protobuf",
    ],
    [
      "guesses grpc on a port ending in 4317 and appends nothing",
      "traces",
      { endpoint: "http://h:4317" },
      {},
      "http://h:4317",
      "grpc",
    ],
    [
      "guesses grpc on 14317 too",
      "metrics",
      {},
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://h:14317" },
      "http://h:14317",
      "grpc",
    ],
    [
      "takes the YAML protocol",
      "metrics",
      { endpoint: "http://h:4318", protocol: "http/json" },
      {},
      "http://h:4318/v1/metrics",
      "http/json",
    ],
    [
      "lets OTEL_EXPORTER_OTLP_PROTOCOL override YAML",
      "metrics",
      { endpoint: "http://h:4318", protocol: "http/json" },
      { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
      "http://h:4318",
      "grpc",
    ],
    [
      "lets the signal protocol override the common one",
      "traces",
      { endpoint: "http://h:4317" },
      { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf" },
      "http://h:4317/v1/traces",
      "http/protobuf",
    ],
  ];
  for (const [name, signal, yaml, env, endpoint, protocol] of endpoints) {
    it(name, () => {
      const cfg = resolve(signal, yaml, env);
      assert.deepEqual(
        { endpoint: cfg?.endpoint, protocol: cfg?.protocol },
        { endpoint, protocol },
      );
    });
  }

  it("merges headers: YAML, then common, then per-signal", () => {
    const cfg = resolve(
      "metrics",
      { endpoint: "http://h:4318", headers: { a: "yaml", b: "yaml", c: "yaml" } },
      {
        OTEL_EXPORTER_OTLP_HEADERS: "b=common,d=common",
        OTEL_EXPORTER_OTLP_METRICS_HEADERS: "c=signal,d=signal",
      },
    );
    assert.deepEqual(cfg?.headers, { a: "yaml", b: "common", c: "signal", d: "signal" });
  });

  it("ignores the other signal's headers", () => {
    const cfg = resolve(
      "traces",
      { endpoint: "http://h:4318" },
      { OTEL_EXPORTER_OTLP_METRICS_HEADERS: "a=1" },
    );
    assert.deepEqual(cfg?.headers, {});
  });

  const intervals: [string, OtlpSignal, Record<string, unknown>, Record<string, string>, number][] =
    [
      ["reads the metrics interval from YAML", "metrics", { interval: "15s" }, {}, 15_000],
      [
        "prefers OTEL_METRIC_EXPORT_INTERVAL (ms) over YAML",
        "metrics",
        { interval: "15s" },
        { OTEL_METRIC_EXPORT_INTERVAL: "2500" },
        2_500,
      ],
      [
        "prefers BEYLA_METRICS_INTERVAL over both",
        "metrics",
        { interval: "15s" },
        { OTEL_METRIC_EXPORT_INTERVAL: "2500", BEYLA_METRICS_INTERVAL: "1m" },
        60_000,
      ],
      ["reads the traces batch timeout from YAML", "traces", { batch_timeout: "1s" }, {}, 1_000],
      [
        "prefers OTEL_BSP_SCHEDULE_DELAY (ms) over YAML",
        "traces",
        { batch_timeout: "1s" },
        { OTEL_BSP_SCHEDULE_DELAY: "200" },
        200,
      ],
      [
        "prefers BEYLA_OTLP_TRACES_BATCH_TIMEOUT over both",
        "traces",
        { batch_timeout: "1s" },
        { OTEL_BSP_SCHEDULE_DELAY: "200", BEYLA_OTLP_TRACES_BATCH_TIMEOUT: "3s" },
        3_000,
      ],
    ];
  for (const [name, signal, yaml, env, ms] of intervals) {
    it(name, () => {
      assert.equal(resolve(signal, { endpoint: "http://h:4318", ...yaml }, env)?.intervalMs, ms);
    });
  }

  it("reads insecure_skip_verify from YAML and lets the environment override it", () => {
    assert.equal(
      resolve("metrics", { endpoint: "https://h", insecure_skip_verify: true })?.insecureSkipVerify,
      true,
    );
    assert.equal(
      resolve(
        "metrics",
        { endpoint: "https://h", insecure_skip_verify: true },
        { BEYLA_OTEL_INSECURE_SKIP_VERIFY: "false" },
      )?.insecureSkipVerify,
      false,
    );
  });

  const bad: [string, Record<string, unknown>, Record<string, string>, string][] = [
    [
      "a YAML endpoint without a scheme",
      { endpoint: "localhost:4318" },
      {},
      'config: field "otel_metrics_export.endpoint": value "localhost:4318" is not allowed; allowed: an http:// or https:// URL, e.g. http://localhost:4318',
    ],
    [
      "a YAML endpoint that is not a URL",
      { endpoint: "http://" },
      {},
      'config: field "otel_metrics_export.endpoint": value "http://" is not allowed; allowed: an http:// or https:// URL, e.g. http://localhost:4318',
    ],
    [
      "a non-HTTP scheme in the environment",
      {},
      { OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://h" },
      'config: environment variable "OTEL_EXPORTER_OTLP_ENDPOINT": value "ftp://h" is not allowed; allowed: an http:// or https:// URL, e.g. http://localhost:4318',
    ],
    [
      "a bad signal endpoint",
      {},
      { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "nope" },
      'config: environment variable "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": value "nope" is not allowed; allowed: an http:// or https:// URL, e.g. http://localhost:4318',
    ],
    [
      "an unknown YAML protocol",
      { endpoint: "http://h", protocol: "http" },
      {},
      'config: field "otel_metrics_export.protocol": value "http" is not allowed; allowed: one of http/protobuf, http/json, grpc',
    ],
    [
      "an unknown protocol in the environment",
      { endpoint: "http://h" },
      { OTEL_EXPORTER_OTLP_PROTOCOL: "grcp" },
      'config: environment variable "OTEL_EXPORTER_OTLP_PROTOCOL": value "grcp" is not allowed (did you mean "grpc"?); allowed: one of http/protobuf, http/json, grpc',
    ],
    [
      "a bad export interval",
      { endpoint: "http://h" },
      { OTEL_METRIC_EXPORT_INTERVAL: "10s" },
      `config: environment variable "OTEL_METRIC_EXPORT_INTERVAL": value "10s" is not allowed; allowed: an integer from 1 to ${Number.MAX_SAFE_INTEGER}`,
    ],
    [
      "a zero YAML interval",
      { endpoint: "http://h", interval: "0" },
      {},
      'config: field "otel_metrics_export.interval": value "0" is not allowed; allowed: a duration of at least 1ms',
    ],
    [
      "bad headers",
      { endpoint: "http://h" },
      { OTEL_EXPORTER_OTLP_METRICS_HEADERS: "token" },
      'config: environment variable "OTEL_EXPORTER_OTLP_METRICS_HEADERS": item 1 is not a key=value pair; allowed: comma-separated key=value pairs, values URL-encoded, e.g. "Authorization=Basic%20abc,X-Org=1"',
    ],
    [
      "a typo even when export is off",
      { protocol: "grpcc" },
      {},
      'config: field "otel_metrics_export.protocol": value "grpcc" is not allowed (did you mean "grpc"?); allowed: one of http/protobuf, http/json, grpc',
    ],
  ];
  for (const [name, yaml, env, message] of bad) {
    it(`rejects ${name}`, () =>
      assert.throws(() => resolve("metrics", yaml, env), { name: "ConfigError", message }));
  }
});
