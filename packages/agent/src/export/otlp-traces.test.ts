import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OtlpGrpcReceiver, TRACE_EXPORT_PATH } from "../testing/otlp-grpc-receiver.js";
import { OtlpReceiver } from "../testing/otlp-receiver.js";
import { T0_NANOS, testClientSpan, testService, testSpan } from "../testing/spans.js";
import { selfSignedPem } from "../testing/self-signed.js";
import { InternalMetrics } from "./internal-metrics.js";
import { OtlpTraces } from "./otlp-traces.js";

const SERVER = 2;
const CLIENT = 3;
const STATUS_UNSET = 0;
const STATUS_ERROR = 2;

for (const protocol of ["http/protobuf", "http/json", "grpc"] as const) {
  describe(`OtlpTraces over ${protocol}`, () => {
    let receiver: OtlpReceiver | OtlpGrpcReceiver;
    before(async () => {
      receiver = protocol === "grpc" ? await OtlpGrpcReceiver.start() : await OtlpReceiver.start();
    });
    after(() => receiver.close());

    it("exports one span per request with exact names, times, attributes and status", async () => {
      const traces = new OtlpTraces({
        endpoint: receiver.url,
        protocol,
        headers: { authorization: "Basic dGVzdDp0ZXN0" },
        hostName: "unused",
      });
      traces.start();
      traces.record(testSpan());
      traces.record(testSpan({ statusCode: 503, route: undefined, requestBodySize: -1 }));
      traces.record(testSpan({ statusCode: 404 }));
      traces.record(testClientSpan({ statusCode: 404, startUnixNano: T0_NANOS + 5n }));
      traces.record(testSpan({ ignore: "traces" }));
      await traces.shutdown();
      await traces.shutdown();
      await receiver.waitFor((r) => r.spans().length >= 4);

      const spans = receiver.spans();
      assert.equal(spans.length, 4);
      const request = receiver.requests()[0];
      assert.equal(request?.path, protocol === "grpc" ? TRACE_EXPORT_PATH : "/v1/traces");
      assert.equal(request?.headers.authorization, "Basic dGVzdDp0ZXN0");

      const [ok, failed, notFound, client] = spans;
      assert.equal(ok?.name, "GET /users/*");
      assert.equal(ok?.kind, SERVER);
      assert.equal(ok?.startTimeUnixNano, T0_NANOS);
      assert.equal(ok?.endTimeUnixNano, T0_NANOS + 1_200_000n);
      assert.match(ok?.traceId ?? "", /^[0-9a-f]{32}$/);
      assert.match(ok?.spanId ?? "", /^[0-9a-f]{16}$/);
      assert.equal(ok?.status.code, STATUS_UNSET);
      assert.equal(ok?.scope, "beyla");
      assert.deepEqual(ok?.attributes, {
        "http.request.method": "GET",
        "http.response.status_code": 200,
        "url.path": "/users/123",
        "url.scheme": "http",
        "http.route": "/users/*",
        "server.address": "127.0.0.1",
        "server.port": 8080,
        "client.address": "127.0.0.1",
        "network.peer.address": "127.0.0.1",
        "network.peer.port": 41234,
        "http.request.body.size": 0,
        "http.response.body.size": 512,
      });
      assert.deepEqual(ok?.resource, {
        "service.name": "nginx",
        "service.instance.id": "node1-1234",
        "process.pid": 1234,
        "process.executable.path": "/usr/sbin/nginx",
        "host.name": "node1",
        "os.type": "linux",
        "telemetry.sdk.name": "beyla",
        "telemetry.sdk.language": "unknown",
        "telemetry.sdk.version": "0.1.0",
      });

      assert.equal(failed?.name, "GET");
      assert.equal(failed?.status.code, STATUS_ERROR);
      assert.equal(failed?.attributes["http.route"], undefined);
      assert.equal(failed?.attributes["http.request.body.size"], undefined);
      assert.equal(notFound?.status.code, STATUS_UNSET);

      assert.equal(client?.name, "GET /api/items");
      assert.equal(client?.kind, CLIENT);
      assert.equal(client?.status.code, STATUS_ERROR);
      assert.equal(client?.startTimeUnixNano, T0_NANOS + 5n);
      assert.equal(client?.attributes["server.address"], "10.0.0.9");
      assert.equal(client?.attributes["server.port"], 80);
      assert.equal(client?.attributes["client.address"], undefined);
      assert.equal(client?.attributes["network.peer.port"], 80);
    });
  });
}

describe("OtlpTraces", () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await OtlpReceiver.start();
  });
  after(() => receiver.close());

  it("names unknown methods HTTP and keeps the original", async () => {
    const local = await OtlpReceiver.start();
    const traces = new OtlpTraces({ endpoint: local.url, protocol: "http/json", headers: {} });
    traces.record(testSpan({ method: "BREW", route: undefined }));
    await traces.shutdown();
    await local.waitFor((r) => r.spans().length === 1);
    const [span] = local.spans();
    assert.equal(span?.name, "HTTP");
    assert.equal(span?.attributes["http.request.method"], "_OTHER");
    assert.equal(span?.attributes["http.request.method_original"], "BREW");
    await local.close();
  });

  it("drops and counts spans beyond the queue bound", async () => {
    const local = await OtlpReceiver.start();
    const internal = new InternalMetrics();
    const traces = new OtlpTraces({
      endpoint: local.url,
      protocol: "http/protobuf",
      headers: {},
      maxQueueSize: 5,
      scheduledDelayMs: 60_000,
      internal,
    });
    // The 5th span fills a batch, which leaves for export at once; 5 more fit in the
    // queue while it is in flight; the last 2 do not.
    for (let i = 0; i < 12; i++) traces.record(testSpan({ path: `/users/${i}` }));
    assert.equal(traces.droppedSpans, 2);
    await traces.flush();
    await local.waitFor((r) => r.spans().length === 10);
    assert.match(
      await internal.registry.metrics(),
      /^beyla_spans_dropped_total\{reason="queue_full"\} 2$/m,
    );
    await traces.shutdown();
    await local.close();
  });

  it("drops and counts spans of services beyond maxServices", async () => {
    const internal = new InternalMetrics();
    const traces = new OtlpTraces({
      endpoint: receiver.url,
      protocol: "http/protobuf",
      headers: {},
      maxServices: 1,
      internal,
    });
    traces.record(testSpan());
    traces.record(testSpan({ service: testService({ pid: 9, instanceId: "node1-9" }) }));
    assert.equal(traces.serviceCount, 1);
    assert.match(
      await internal.registry.metrics(),
      /^beyla_spans_dropped_total\{reason="service_limit"\} 1$/m,
    );
    await traces.shutdown();
  });

  it("counts failed exports instead of throwing", async () => {
    const internal = new InternalMetrics();
    const traces = new OtlpTraces({
      endpoint: receiver.url,
      protocol: "http/json",
      headers: {},
      internal,
    });
    traces.record(testSpan());
    receiver.failNext(1, 400);
    await traces.flush();
    assert.match(
      await internal.registry.metrics(),
      /^beyla_export_failures_total\{exporter="otlp_traces"\} 1$/m,
    );
    await traces.shutdown();
  });

  for (const protocol of ["http/protobuf", "grpc"] as const) {
    it(`over https with ${protocol}, verifies the receiver unless insecureSkipVerify`, async () => {
      const tls = selfSignedPem();
      const secure =
        protocol === "grpc"
          ? await OtlpGrpcReceiver.start({ tls })
          : await OtlpReceiver.start({ tls });
      try {
        assert.match(secure.url, /^https:/);
        for (const insecureSkipVerify of [false, true]) {
          const internal = new InternalMetrics();
          const traces = new OtlpTraces({
            endpoint: secure.url,
            protocol,
            headers: {},
            internal,
            insecureSkipVerify,
          });
          traces.record(testSpan({ path: `/skip-${insecureSkipVerify}` }));
          await traces.flush();
          const failures =
            /^beyla_export_failures_total\{exporter="otlp_traces"\} (\d+)$/m.exec(
              await internal.registry.metrics(),
            )?.[1] ?? "0";
          assert.equal(
            failures,
            insecureSkipVerify ? "0" : "1",
            `skip verify ${insecureSkipVerify}`,
          );
          await traces.shutdown();
        }
        assert.deepEqual(
          secure.spans().map((s) => s.attributes["url.path"]),
          ["/skip-true"],
        );
      } finally {
        await secure.close();
      }
    });
  }

  it("shuts down the provider of a service idle for the TTL", async () => {
    let now = 0;
    const traces = new OtlpTraces({
      endpoint: receiver.url,
      protocol: "http/protobuf",
      headers: {},
      ttlMs: 100,
      now: () => now,
    });
    traces.record(testSpan());
    now = 150;
    assert.equal(traces.sweep(), 1);
    assert.equal(traces.serviceCount, 0);
    await traces.shutdown();
  });

  it("rejects an unknown protocol and headers gRPC cannot carry, naming the field", () => {
    assert.throws(
      () =>
        new OtlpTraces({
          endpoint: "http://localhost:4317",
          protocol: "grpc/json" as "grpc",
          headers: {},
          configField: "otel_traces_export",
        }),
      /^Error: otel_traces_export\.protocol: "grpc\/json" is not a valid protocol; allowed: "http\/protobuf", "http\/json", "grpc"$/,
    );
    assert.throws(
      () =>
        new OtlpTraces({
          endpoint: "http://localhost:4317",
          protocol: "grpc",
          headers: { "x-tenant": "caf\u00e9" },
        }),
      /^Error: otel_traces_export\.headers: the value of "x-tenant" is not valid gRPC metadata/,
    );
  });
});

describe("OtlpTraces over grpc", () => {
  let receiver: OtlpGrpcReceiver;
  before(async () => {
    receiver = await OtlpGrpcReceiver.start();
  });
  after(() => receiver.close());

  it("exports exactly the spans recorded, in batches, each call with the metadata", async () => {
    const local = await OtlpGrpcReceiver.start();
    const traces = new OtlpTraces({
      endpoint: local.url,
      protocol: "grpc",
      headers: { "x-scope-orgid": "team-a" },
      maxQueueSize: 4096,
      maxExportBatchSize: 512,
      scheduledDelayMs: 60_000,
    });
    try {
      const total = 1_300;
      for (let i = 0; i < total; i++) {
        traces.record(testSpan({ path: `/users/${i}`, startUnixNano: T0_NANOS + BigInt(i) }));
      }
      await traces.flush();
      await local.waitFor((r) => r.spans().length >= total);

      const spans = local.spans();
      assert.equal(spans.length, total);
      assert.equal(new Set(spans.map((s) => s.spanId)).size, total);
      const paths = spans.map((s) => s.attributes["url.path"]).sort();
      const expected = Array.from({ length: total }, (_, i) => `/users/${i}`).sort();
      assert.deepEqual(paths, expected);
      for (const span of spans) {
        assert.equal(span.name, "GET /users/*");
        assert.equal(span.kind, SERVER);
        assert.equal(span.attributes["http.response.status_code"], 200);
        assert.equal(span.resource["service.instance.id"], "node1-1234");
      }
      const requests = local.requests();
      assert.deepEqual(
        requests.map((r) => r.items).sort((a, b) => a - b),
        [276, 512, 512],
        "batches of at most 512 spans (concurrent calls may arrive in any order)",
      );
      for (const request of requests) {
        assert.equal(request.path, TRACE_EXPORT_PATH);
        assert.equal(request.headers["x-scope-orgid"], "team-a");
      }
      assert.equal(traces.droppedSpans, 0);
    } finally {
      await traces.shutdown();
      await local.close();
    }
  });

  it("counts failed exports instead of throwing", async () => {
    const internal = new InternalMetrics();
    const traces = new OtlpTraces({
      endpoint: receiver.url,
      protocol: "grpc",
      headers: {},
      internal,
    });
    traces.record(testSpan());
    traces.record(testSpan());
    receiver.failNext(1);
    await traces.flush();
    traces.record(testSpan({ path: "/after" }));
    await traces.flush();
    assert.match(
      await internal.registry.metrics(),
      /^beyla_export_failures_total\{exporter="otlp_traces"\} 1$/m,
    );
    assert.deepEqual(
      receiver.spans().map((s) => s.attributes["url.path"]),
      ["/after"],
    );
    await traces.shutdown();
  });
});
