import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { OtlpGrpcReceiver, TRACE_EXPORT_PATH } from "../testing/otlp-grpc-receiver.js";
import { testSpan } from "../testing/spans.js";
import { InternalMetrics } from "./internal-metrics.js";
import {
  checkProtocol,
  createSpanExporter,
  type OtlpEndpointOptions,
  signalUrl,
} from "./otlp-config.js";
import { OtlpTraces } from "./otlp-traces.js";

function options(overrides: Partial<OtlpEndpointOptions>): OtlpEndpointOptions {
  return {
    endpoint: "http://localhost:4318",
    protocol: "http/protobuf",
    headers: {},
    ...overrides,
  };
}

describe("signalUrl", () => {
  it("appends /v1/<signal> to a base endpoint over HTTP, uses a signal endpoint as is", () => {
    assert.equal(
      signalUrl(options({ endpoint: "http://collector:4318/" }), "metrics"),
      "http://collector:4318/v1/metrics",
    );
    assert.equal(
      signalUrl(options({ signalEndpoint: "https://collector/otlp/traces" }), "traces"),
      "https://collector/otlp/traces",
    );
  });

  it("gives scheme, host and port only with grpc: gRPC has no URL path", () => {
    const grpc = (overrides: Partial<OtlpEndpointOptions>) =>
      options({ protocol: "grpc", ...overrides });
    assert.equal(
      signalUrl(grpc({ endpoint: "http://collector:4317" }), "traces"),
      "http://collector:4317",
    );
    assert.equal(
      signalUrl(grpc({ endpoint: "http://collector:4317/" }), "metrics"),
      "http://collector:4317",
    );
    assert.equal(
      signalUrl(grpc({ signalEndpoint: "https://collector:4317/v1/traces" }), "traces"),
      "https://collector:4317",
    );
    assert.equal(
      signalUrl(grpc({ endpoint: "http://[::1]:4317" }), "metrics"),
      "http://[::1]:4317",
    );
    assert.throws(
      () => signalUrl(grpc({ endpoint: "unix:///run/otel.sock" }), "traces"),
      /^Error: otel_traces_export\.endpoint: "unix:\/\/\/run\/otel\.sock" must be an http:\/\/ or https:\/\/ URL$/,
    );
  });
});

describe("checkProtocol", () => {
  it("accepts the three OTLP protocols", () => {
    for (const protocol of ["http/protobuf", "http/json", "grpc"] as const) {
      assert.equal(checkProtocol(options({ protocol }), "metrics"), protocol);
    }
  });

  it("rejects an unknown protocol naming the field, the value and what is allowed", () => {
    assert.throws(
      () =>
        checkProtocol(
          options({ protocol: "http" as "grpc", configField: "otel_metrics_export" }),
          "metrics",
        ),
      {
        message:
          'otel_metrics_export.protocol: "http" is not a valid protocol; ' +
          'allowed: "http/protobuf", "http/json", "grpc"',
      },
    );
  });

  it("rejects headers that gRPC metadata cannot carry, naming the field and the key, not the value", () => {
    const grpc = (headers: Record<string, string>) =>
      options({ protocol: "grpc", headers, configField: "otel_traces_export" });
    assert.throws(() => checkProtocol(grpc({ "x-token": "s3cret\nline" }), "traces"), {
      message:
        'otel_traces_export.headers: the value of "x-token" is not valid gRPC metadata; ' +
        'allowed: printable ASCII (any text in a key ending in "-bin")',
    });
    assert.throws(() => checkProtocol(grpc({ "x/tenant": "a" }), "traces"), {
      message:
        'otel_traces_export.headers: "x/tenant" is not a valid gRPC metadata key; ' +
        'allowed: letters (sent lowercased), digits, "-", "_", "."',
    });
    assert.equal(
      checkProtocol(grpc({ Authorization: "Bearer a.b.c", "x-id-bin": "\u00e9" }), "traces"),
      "grpc",
    );
    // HTTP headers are not held to gRPC's rules
    assert.equal(
      checkProtocol(options({ headers: { "x-tenant": "caf\u00e9" } }), "traces"),
      "http/protobuf",
    );
  });
});

describe("createSpanExporter over grpc", () => {
  it("sends to the receiver's Export method and reports a failed call once", async () => {
    const receiver = await OtlpGrpcReceiver.start();
    const failures: (Error | undefined)[] = [];
    const traces = new OtlpTraces({
      endpoint: receiver.url,
      protocol: "grpc",
      headers: { "x-api-key": "k" },
      internal: new InternalMetrics(),
    });
    const exporter = createSpanExporter(
      options({ protocol: "grpc", endpoint: receiver.url, headers: { "x-api-key": "k" } }),
      (error) => failures.push(error),
    );
    try {
      // Real ReadableSpans, made by the SDK through OtlpTraces' providers.
      traces.record(testSpan());
      await traces.flush();
      await receiver.waitFor((r) => r.spans().length === 1);
      assert.equal(receiver.requests()[0]?.path, TRACE_EXPORT_PATH);

      receiver.failNext(1);
      const results = await Promise.all(
        [1, 2].map(
          () =>
            new Promise<number>((resolve) => {
              exporter.export([], (result) => resolve(result.code));
            }),
        ),
      );
      assert.deepEqual(results.sort(), [0, 1], "one call failed, one succeeded");
      assert.equal(failures.length, 1);
      assert.match(String(failures[0]?.message), /failing on purpose/);
    } finally {
      await exporter.shutdown();
      await traces.shutdown();
      await receiver.close();
    }
  });
});

describe("gRPC modules", () => {
  it("are loaded only when a signal uses grpc, and only that signal's exporter", () => {
    const script = `
      import { createRequire } from "node:module";
      const config = await import(${JSON.stringify(new URL("./otlp-config.js", import.meta.url).href)});
      const { OtlpMetrics } = await import(${JSON.stringify(new URL("./otlp-metrics.js", import.meta.url).href)});
      const { OtlpTraces } = await import(${JSON.stringify(new URL("./otlp-traces.js", import.meta.url).href)});
      const cache = createRequire(import.meta.url).cache;
      const loaded = () => ({
        grpcJs: Object.keys(cache).some((p) => p.includes("/@grpc/grpc-js/")),
        metrics: Object.keys(cache).some((p) => p.includes("/exporter-metrics-otlp-grpc/")),
        traces: Object.keys(cache).some((p) => p.includes("/exporter-trace-otlp-grpc/")),
      });
      const steps = {};
      const endpoint = "http://127.0.0.1:1";
      for (const protocol of ["http/protobuf", "http/json"]) {
        new OtlpMetrics({ endpoint, protocol, headers: {} });
        new OtlpTraces({ endpoint, protocol, headers: {} });
        config.createMetricExporter({ endpoint, protocol, headers: {} }, () => {});
        config.createSpanExporter({ endpoint, protocol, headers: {} }, () => {});
      }
      steps.http = loaded();
      new OtlpMetrics({ endpoint, protocol: "grpc", headers: {} });
      steps.grpcMetrics = loaded();
      new OtlpTraces({ endpoint, protocol: "grpc", headers: {} });
      steps.grpcTraces = loaded();
      console.log(JSON.stringify(steps));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    assert.deepEqual(JSON.parse(out), {
      http: { grpcJs: false, metrics: false, traces: false },
      grpcMetrics: { grpcJs: true, metrics: true, traces: false },
      grpcTraces: { grpcJs: true, metrics: true, traces: true },
    });
  });
});
