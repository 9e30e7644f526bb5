import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { METRICS_EXPORT_PATH, OtlpGrpcReceiver } from "../testing/otlp-grpc-receiver.js";
import { OtlpReceiver, type ReceivedMetric } from "../testing/otlp-receiver.js";
import { testClientSpan, testService, testSpan } from "../testing/spans.js";
import { InternalMetrics } from "./internal-metrics.js";
import { DURATION_BUCKETS_SECONDS, SIZE_BUCKETS_BYTES } from "./metric-names.js";
import { OtlpMetrics } from "./otlp-metrics.js";

function find(metrics: ReceivedMetric[], name: string): ReceivedMetric | undefined {
  return metrics.filter((m) => m.name === name).at(-1);
}

function sumOf(value: number, times: number): number {
  let sum = 0;
  for (let i = 0; i < times; i++) sum += value;
  return sum;
}

const RESOURCE = {
  "service.name": "nginx",
  "service.instance.id": "node1-1234",
  "process.pid": 1234,
  "process.executable.path": "/usr/sbin/nginx",
  "host.name": "node1",
  "os.type": "linux",
  "telemetry.sdk.name": "beyla",
  "telemetry.sdk.language": "unknown",
  "telemetry.sdk.version": "0.1.0",
};

const CONTENT_TYPE = {
  "http/protobuf": "application/x-protobuf",
  "http/json": "application/json",
  grpc: "application/grpc",
} as const;

for (const protocol of ["http/protobuf", "http/json", "grpc"] as const) {
  describe(`OtlpMetrics over ${protocol}`, () => {
    let receiver: OtlpReceiver | OtlpGrpcReceiver;
    before(async () => {
      receiver = protocol === "grpc" ? await OtlpGrpcReceiver.start() : await OtlpReceiver.start();
    });
    after(() => receiver.close());

    it("exports exact histograms, attributes, resource and headers", async () => {
      const metrics = new OtlpMetrics({
        endpoint: receiver.url,
        protocol,
        headers: { "x-scope-orgid": "team-a" },
        intervalMs: 60_000,
        hostName: "unused",
      });
      metrics.start();
      for (let i = 0; i < 137; i++) metrics.record(testSpan({ path: `/users/${i}` }));
      for (let i = 0; i < 5; i++) metrics.record(testClientSpan({ requestBodySize: -1 }));
      metrics.record(testSpan({ ignore: "metrics" }));
      await metrics.flush();
      await receiver.waitFor(
        (r) => find(r.metrics(), "http.server.request.duration") !== undefined,
      );

      const [request] = receiver.requests();
      assert.equal(request?.path, protocol === "grpc" ? METRICS_EXPORT_PATH : "/v1/metrics");
      assert.equal(request?.headers["x-scope-orgid"], "team-a");
      assert.equal(request?.contentType, CONTENT_TYPE[protocol]);

      const duration = find(receiver.metrics(), "http.server.request.duration");
      assert.equal(duration?.type, "histogram");
      assert.equal(duration?.unit, "s");
      assert.equal(duration?.temporality, 2);
      assert.deepEqual(duration?.resource, RESOURCE);
      assert.equal(duration?.points.length, 1);
      const point = duration?.points[0];
      assert.deepEqual(point?.attributes, {
        "http.request.method": "GET",
        "http.response.status_code": 200,
        "url.scheme": "http",
        "server.address": "127.0.0.1",
        "server.port": 8080,
        "http.route": "/users/*",
      });
      assert.equal(point?.count, 137);
      assert.equal(point?.sum, sumOf(0.0012, 137));
      assert.deepEqual(point?.explicitBounds, DURATION_BUCKETS_SECONDS);
      const expectedBuckets = new Array<number>(DURATION_BUCKETS_SECONDS.length + 1).fill(0);
      expectedBuckets[1] = 137;
      assert.deepEqual(point?.bucketCounts, expectedBuckets);

      const response = find(receiver.metrics(), "http.server.response.body.size");
      assert.equal(response?.unit, "By");
      assert.equal(response?.points[0]?.count, 137);
      assert.equal(response?.points[0]?.sum, 137 * 512);
      assert.deepEqual(response?.points[0]?.explicitBounds, SIZE_BUCKETS_BYTES);

      const client = find(receiver.metrics(), "http.client.request.duration");
      assert.equal(client?.points[0]?.count, 5);
      assert.equal(client?.points[0]?.attributes["server.address"], "10.0.0.9");
      assert.equal(find(receiver.metrics(), "http.client.request.body.size"), undefined);
      assert.equal(find(receiver.metrics(), "http.client.response.body.size")?.points[0]?.count, 5);
      await metrics.shutdown();
      await metrics.shutdown();
    });
  });
}

describe("OtlpMetrics", () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await OtlpReceiver.start();
  });
  after(() => receiver.close());

  it("counts failed exports instead of throwing", async () => {
    const internal = new InternalMetrics();
    const metrics = new OtlpMetrics({
      endpoint: receiver.url,
      protocol: "http/protobuf",
      headers: {},
      internal,
    });
    metrics.record(testSpan());
    receiver.failNext(1, 500);
    await metrics.flush();
    const text = await internal.registry.metrics();
    assert.match(text, /^beyla_export_failures_total\{exporter="otlp_metrics"\} 1$/m);
    await metrics.shutdown();
  });

  it("drops and counts series and services beyond the limits", async () => {
    const internal = new InternalMetrics();
    const metrics = new OtlpMetrics({
      endpoint: receiver.url,
      protocol: "http/json",
      headers: {},
      maxSeries: 3,
      maxServices: 2,
      internal,
    });
    for (let i = 0; i < 5; i++) metrics.record(testSpan({ route: `/r/${i}` }));
    const other = testService({ pid: 2, instanceId: "node1-2" });
    const third = testService({ pid: 3, instanceId: "node1-3" });
    metrics.record(testSpan({ service: other }));
    metrics.record(testSpan({ service: third }));
    assert.equal(metrics.seriesCount, 3);
    assert.equal(metrics.serviceCount, 2);
    const text = await internal.registry.metrics();
    assert.match(text, /^beyla_series_dropped_total 4$/m);
    await metrics.shutdown();
  });

  it("shuts down the provider of a service idle for the TTL, flushing it first", async () => {
    let now = 0;
    const local = await OtlpReceiver.start();
    const metrics = new OtlpMetrics({
      endpoint: local.url,
      protocol: "http/protobuf",
      headers: {},
      ttlMs: 1_000,
      now: () => now,
    });
    metrics.record(testSpan());
    metrics.record(testSpan({ service: testService({ pid: 2, instanceId: "node1-2" }) }));
    now = 600;
    metrics.record(testSpan());
    now = 1_200;
    assert.equal(metrics.sweep(), 1);
    assert.equal(metrics.serviceCount, 1);
    assert.equal(metrics.seriesCount, 1);
    await local.waitFor((r) => r.metrics().length > 0);
    const ids = local.metrics().map((m) => m.resource["service.instance.id"]);
    assert.deepEqual([...new Set(ids)], ["node1-2"]);
    await metrics.shutdown();
    await local.close();
  });

  it("rejects bad endpoints and headers gRPC cannot carry at construction, naming the field", () => {
    assert.throws(
      () => new OtlpMetrics({ endpoint: "localhost:4318", protocol: "http/protobuf", headers: {} }),
      /otel_metrics_export\.endpoint: "localhost:4318" must be an http:\/\/ or https:\/\/ URL/,
    );
    assert.throws(
      () => new OtlpMetrics({ endpoint: "localhost:4317", protocol: "grpc", headers: {} }),
      /otel_metrics_export\.endpoint: "localhost:4317" must be an http:\/\/ or https:\/\/ URL/,
    );
    assert.throws(
      () =>
        new OtlpMetrics({
          endpoint: "http://localhost:4317",
          protocol: "grpc",
          headers: { "x tenant": "a" },
        }),
      /^Error: otel_metrics_export\.headers: "x tenant" is not a valid gRPC metadata key/,
    );
  });
});

describe("OtlpMetrics over grpc", () => {
  let receiver: OtlpGrpcReceiver;
  before(async () => {
    receiver = await OtlpGrpcReceiver.start();
  });
  after(() => receiver.close());

  it("exports exactly the points recorded, per service and status, with the metadata", async () => {
    const local = await OtlpGrpcReceiver.start();
    const metrics = new OtlpMetrics({
      endpoint: local.url,
      protocol: "grpc",
      headers: { Authorization: "Bearer t0k3n", "x-tenant-bin": "acme" },
      intervalMs: 60_000,
    });
    try {
      const services = [1, 2, 3].map((pid) =>
        testService({ pid, instanceId: `node1-${pid}`, name: `svc-${pid}` }),
      );
      const counts: Record<number, number> = { 200: 40, 404: 7, 500: 3 };
      for (const service of services) {
        for (const [status, n] of Object.entries(counts)) {
          for (let i = 0; i < n * service.pid; i++) {
            metrics.record(testSpan({ service, statusCode: Number(status) }));
          }
        }
      }
      await metrics.flush();
      await local.waitFor((r) => r.requests().length === 3);

      const requests = local.requests();
      assert.equal(requests.length, 3, "one Export call per service");
      for (const request of requests) {
        assert.equal(request.path, METRICS_EXPORT_PATH);
        assert.equal(request.headers["authorization"], "Bearer t0k3n");
        assert.equal(request.headers["x-tenant-bin"], "acme");
      }
      const durations = local.metrics().filter((m) => m.name === "http.server.request.duration");
      assert.equal(durations.length, 3);
      for (const service of services) {
        const metric = durations.find((m) => m.resource["process.pid"] === service.pid);
        assert.equal(metric?.resource["service.name"], service.name);
        const byStatus = Object.fromEntries(
          (metric?.points ?? []).map((p) => [p.attributes["http.response.status_code"], p.count]),
        );
        assert.deepEqual(byStatus, {
          200: 40 * service.pid,
          404: 7 * service.pid,
          500: 3 * service.pid,
        });
      }
      assert.deepEqual(local.errors(), []);
    } finally {
      await metrics.shutdown();
      await local.close();
    }
  });

  it("counts failed exports instead of throwing", async () => {
    const internal = new InternalMetrics();
    const metrics = new OtlpMetrics({
      endpoint: receiver.url,
      protocol: "grpc",
      headers: {},
      internal,
    });
    for (let i = 0; i < 9; i++) metrics.record(testSpan());
    receiver.failNext(1);
    await metrics.flush();
    assert.match(
      await internal.registry.metrics(),
      /^beyla_export_failures_total\{exporter="otlp_metrics"\} 1$/m,
    );
    await metrics.flush();
    const duration = find(receiver.metrics(), "http.server.request.duration");
    assert.equal(duration?.points[0]?.count, 9, "cumulative: the next export carries them");
    assert.match(
      await internal.registry.metrics(),
      /^beyla_export_failures_total\{exporter="otlp_metrics"\} 1$/m,
    );
    await metrics.shutdown();
  });

  it("counts exports to a receiver that is not there", async () => {
    const gone = await OtlpGrpcReceiver.start();
    const endpoint = gone.url;
    await gone.close();
    const internal = new InternalMetrics();
    const metrics = new OtlpMetrics({
      endpoint,
      protocol: "grpc",
      headers: {},
      timeoutMs: 2_000,
      internal,
    });
    metrics.record(testSpan());
    await metrics.flush();
    assert.match(
      await internal.registry.metrics(),
      /^beyla_export_failures_total\{exporter="otlp_metrics"\} 1$/m,
    );
    await metrics.shutdown();
  });
});
