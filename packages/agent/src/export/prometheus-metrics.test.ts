import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { testClientSpan, testService, testSpan } from "../testing/spans.js";
import { PrometheusMetrics } from "./prometheus-metrics.js";

async function text(metrics: PrometheusMetrics): Promise<string> {
  let out = "";
  for await (const chunk of metrics.collect()) out += chunk.toString();
  return out;
}

function line(body: string, prefix: string): string | undefined {
  return body.split("\n").find((l) => l.startsWith(prefix));
}

const SERVER_LABELS =
  'http_request_method="GET",http_response_status_code="200",http_route="/users/*",' +
  'url_scheme="http",server_address="127.0.0.1",server_port="8080",service_name="nginx",' +
  'service_namespace="",service_instance_id="node1-1234"';

describe("PrometheusMetrics", () => {
  it("counts 137 GET /users/* 200 spans under exact labels", async () => {
    const m = new PrometheusMetrics({ hostName: "node1" });
    for (let i = 0; i < 137; i++) m.record(testSpan({ path: `/users/${i}` }));
    const body = await text(m);
    assert.equal(
      line(body, "http_server_request_duration_seconds_count{"),
      `http_server_request_duration_seconds_count{${SERVER_LABELS}} 137`,
    );
    assert.equal(
      line(body, 'http_server_request_duration_seconds_bucket{le="0.005",'),
      `http_server_request_duration_seconds_bucket{le="0.005",${SERVER_LABELS}} 137`,
    );
    assert.equal(
      line(body, 'http_server_request_duration_seconds_bucket{le="0",'),
      `http_server_request_duration_seconds_bucket{le="0",${SERVER_LABELS}} 0`,
    );
    assert.equal(
      line(body, "http_server_response_body_size_bytes_sum{"),
      `http_server_response_body_size_bytes_sum{${SERVER_LABELS}} ${137 * 512}`,
    );
    assert.equal(
      line(body, 'http_server_response_body_size_bytes_bucket{le="256",'),
      `http_server_response_body_size_bytes_bucket{le="256",${SERVER_LABELS}} 0`,
    );
    assert.equal(
      line(body, 'http_server_response_body_size_bytes_bucket{le="512",'),
      `http_server_response_body_size_bytes_bucket{le="512",${SERVER_LABELS}} 137`,
    );
    assert.equal(m.seriesCount, 1);
  });

  it("renders the same text whatever the chunk size, laid out as a prom-client registry", async () => {
    const record = (m: PrometheusMetrics): void => {
      for (let i = 0; i < 10; i++) {
        m.record(testSpan({ route: `/r/${i}`, statusCode: 200 + i }));
        m.record(testClientSpan({ route: `/c/${i}`, requestBodySize: 40 * i }));
      }
      m.record(testSpan({ route: 'we"ird\\route\n' }));
    };
    const small = new PrometheusMetrics({ hostName: "node1", seriesPerChunk: 3 });
    const large = new PrometheusMetrics({ hostName: "node1", seriesPerChunk: 1000 });
    record(small);
    record(large);
    const body = await text(small);
    assert.equal(body, await text(large));
    // Six families separated by one blank line, then target_info; one trailing newline.
    assert.equal(body.split("\n\n").length, 7);
    assert.ok(body.endsWith("} 1\n") && !body.endsWith("\n\n"));
    assert.equal(
      body.split("\n").filter((l) => l.startsWith("http_server_request_duration_seconds_count{"))
        .length,
      11,
    );
    assert.equal(
      body.split("\n").filter((l) => l.startsWith("http_client_request_duration_seconds_count{"))
        .length,
      10,
    );
    assert.ok(body.includes('http_route="we\\"ird\\\\route\\n"'));
  });

  it("yields to the event loop between chunks while rendering 10,000 series", async () => {
    const m = new PrometheusMetrics({ hostName: "node1", maxSeries: 10_000, seriesPerChunk: 500 });
    for (let i = 0; i < 10_000; i++) m.record(testSpan({ route: `/route/${i}` }));
    let loopTurns = 0;
    let done = false;
    const tick = (): void => {
      loopTurns++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    let chunks = 0;
    for await (const chunk of m.collect()) if (chunk.length > 0) chunks++;
    done = true;
    // Three families of 10,000 series in chunks of 500: 19 yields each.
    assert.ok(loopTurns >= 57, `event loop ran ${loopTurns} times during the scrape`);
    assert.ok(chunks >= 60);
  });

  it("writes target_info once per service instance", async () => {
    const m = new PrometheusMetrics({ hostName: "fallback-host" });
    m.record(testSpan());
    m.record(testSpan({ route: "/other" }));
    const k8s = testService({
      name: "api",
      namespace: "shop",
      instanceId: "shop.api-7d9f-abc.api",
      pid: 77,
      exePath: "/app/api",
      attributes: { "k8s.namespace.name": "shop", "k8s.pod.name": "api-7d9f-abc" },
    });
    m.record(testSpan({ service: k8s }));
    const info = (await text(m)).split("\n").filter((l) => l.startsWith("target_info{"));
    assert.deepEqual(info, [
      'target_info{host_name="node1",service_name="nginx",service_namespace="",' +
        'service_instance_id="node1-1234",process_pid="1234",' +
        'process_executable_path="/usr/sbin/nginx",os_type="linux",telemetry_sdk_name="beyla",' +
        'telemetry_sdk_language="unknown",telemetry_sdk_version="0.1.0"} 1',
      'target_info{host_name="fallback-host",service_name="api",service_namespace="shop",' +
        'service_instance_id="shop.api-7d9f-abc.api",process_pid="77",' +
        'process_executable_path="/app/api",os_type="linux",telemetry_sdk_name="beyla",' +
        'telemetry_sdk_language="unknown",telemetry_sdk_version="0.1.0",' +
        'k8s_namespace_name="shop",k8s_pod_name="api-7d9f-abc"} 1',
    ]);
    const k8sCount = line(await text(m), "http_server_request_duration_seconds_count{");
    assert.ok(k8sCount !== undefined);
  });

  it("labels client spans with the peer as server_address and omits unknown body sizes", async () => {
    const m = new PrometheusMetrics({ hostName: "node1" });
    for (let i = 0; i < 3; i++) m.record(testClientSpan({ requestBodySize: -1 }));
    const body = await text(m);
    const labels =
      'http_request_method="GET",http_response_status_code="200",http_route="/api/items",' +
      'url_scheme="http",server_address="10.0.0.9",server_port="80",service_name="nginx",' +
      'service_namespace="",service_instance_id="node1-1234"';
    assert.equal(
      line(body, "http_client_request_duration_seconds_count{"),
      `http_client_request_duration_seconds_count{${labels}} 3`,
    );
    assert.equal(line(body, "http_client_request_body_size_bytes_count{"), undefined);
    assert.equal(
      line(body, "http_client_response_body_size_bytes_count{"),
      `http_client_response_body_size_bytes_count{${labels}} 3`,
    );
  });

  it("uses an empty http_route when the route is unset and _OTHER for unknown methods", async () => {
    const m = new PrometheusMetrics({ hostName: "node1" });
    m.record(testSpan({ route: undefined, method: "BREW" }));
    m.record(testSpan({ route: undefined, method: "FROB" }));
    const count = line(await text(m), "http_server_request_duration_seconds_count{");
    assert.equal(
      count,
      'http_server_request_duration_seconds_count{http_request_method="_OTHER",' +
        'http_response_status_code="200",http_route="",url_scheme="http",' +
        'server_address="127.0.0.1",server_port="8080",service_name="nginx",' +
        'service_namespace="",service_instance_id="node1-1234"} 2',
    );
    assert.equal(m.seriesCount, 1);
  });

  it("skips spans whose metrics are ignored", async () => {
    const m = new PrometheusMetrics({ hostName: "node1" });
    m.record(testSpan({ ignore: "metrics" }));
    m.record(testSpan({ ignore: "traces" }));
    const count = line(await text(m), "http_server_request_duration_seconds_count{");
    assert.equal(count, `http_server_request_duration_seconds_count{${SERVER_LABELS}} 1`);
  });

  it("removes series and target_info not updated for the TTL", async () => {
    let now = 1_000;
    const m = new PrometheusMetrics({ hostName: "node1", ttlMs: 100, now: () => now });
    m.record(testSpan({ route: "/old" }));
    now = 1_050;
    m.record(testSpan({ route: "/fresh" }));
    now = 1_120;
    assert.equal(m.sweep(), 1);
    let body = await text(m);
    assert.equal(body.includes('http_route="/old"'), false);
    assert.equal(body.includes('http_route="/fresh"'), true);
    assert.equal(body.split("\n").filter((l) => l.startsWith("target_info{")).length, 1);
    now = 1_200;
    assert.equal(m.sweep(), 1);
    body = await text(m);
    assert.equal(body.includes("http_route="), false);
    assert.equal(body.includes("target_info{"), false);
    assert.equal(m.seriesCount, 0);
    m.record(testSpan({ route: "/old" }));
    assert.equal(
      line(await text(m), "http_server_request_duration_seconds_count{")?.endsWith(" 1"),
      true,
    );
  });

  it("starts an expired series over while its service lives on", async () => {
    let now = 1_000;
    const m = new PrometheusMetrics({ hostName: "node1", ttlMs: 100, now: () => now });
    m.serviceStarted(testService());
    m.record(testSpan({ route: "/a" }));
    m.record(testSpan({ route: "/a" }));
    assert.equal(
      line(await text(m), "http_server_request_duration_seconds_count{")?.split(" ")[1],
      "2",
    );
    now = 1_200;
    assert.equal(m.sweep(), 1);
    m.record(testSpan({ route: "/a" }));
    const counts = (await text(m))
      .split("\n")
      .filter((l) => l.startsWith("http_server_request_duration_seconds_count{"));
    assert.deepEqual(
      counts.map((l) => l.split(" ")[1]),
      ["1"],
    );
    assert.equal(m.seriesCount, 1);
  });

  it("keeps target_info of a started process past the TTL, until it stops", async () => {
    let now = 0;
    const m = new PrometheusMetrics({ hostName: "node1", ttlMs: 100, now: () => now });
    const service = testService();
    m.serviceStarted(service);
    const infoLines = async (): Promise<number> =>
      (await text(m)).split("\n").filter((l) => l.startsWith("target_info{")).length;
    assert.equal(await infoLines(), 1);
    m.record(testSpan({ service }));
    now = 1_000;
    m.sweep();
    assert.equal(await infoLines(), 1);
    assert.equal(m.seriesCount, 0);
    m.record(testSpan({ service }));
    m.serviceStopped(service.pid);
    assert.equal(await infoLines(), 0);
    assert.equal(m.seriesCount, 1);
  });

  it("expires series with its own timer", async () => {
    const m = new PrometheusMetrics({ hostName: "node1", ttlMs: 20 });
    m.start();
    m.record(testSpan());
    assert.equal(m.seriesCount, 1);
    while (m.seriesCount > 0) await new Promise((r) => setTimeout(r, 10));
    m.stop();
    m.stop();
    assert.equal((await text(m)).includes("http_route="), false);
  });

  it("drops and counts new series beyond maxSeries", async () => {
    const dropped: number[] = [];
    const m = new PrometheusMetrics({
      hostName: "node1",
      maxSeries: 5,
      onSeriesDropped: (n) => dropped.push(n),
    });
    for (let i = 0; i < 8; i++) m.record(testSpan({ route: `/r/${i}` }));
    m.record(testSpan({ route: "/r/0" }));
    assert.equal(m.seriesCount, 5);
    assert.equal(m.droppedSeries, 3);
    assert.deepEqual(dropped, [1, 1, 1]);
    const counts = (await text(m))
      .split("\n")
      .filter((l) => l.startsWith("http_server_request_duration_seconds_count{"));
    assert.equal(counts.length, 5);
    assert.equal(counts.filter((l) => l.includes('http_route="/r/0"'))[0]?.endsWith(" 2"), true);
  });

  it("drops spans of services beyond maxServices", () => {
    const m = new PrometheusMetrics({ hostName: "node1", maxServices: 2 });
    for (let pid = 1; pid <= 4; pid++) {
      m.record(testSpan({ service: testService({ pid, instanceId: `node1-${pid}` }) }));
    }
    assert.equal(m.seriesCount, 2);
    assert.equal(m.droppedSeries, 2);
  });
});
