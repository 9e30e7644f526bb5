import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  METRICS_EXPORT_PATH,
  OtlpGrpcReceiver,
  TRACE_EXPORT_PATH,
} from "@beyla-ts/agent/dist/testing/otlp-grpc-receiver.js";
import { startAgent, waitForInstrumented, type AgentHandle } from "./helpers/agent.js";
import { freePort, run, stopAll, waitFor, type Child } from "./helpers/processes.js";
import { select, type Sample } from "./helpers/prom-text.js";
import { startNodeServer } from "./helpers/servers.js";

const SPAN_KIND_SERVER = 2;
const USERS = 40;
const ERRORS = 3;

describe("OTLP export over grpc with OTEL_EXPORTER_OTLP_* variables", () => {
  let agent: AgentHandle;
  let server: Child;
  let receiver: OtlpGrpcReceiver;
  let port: number;

  before(async () => {
    receiver = await OtlpGrpcReceiver.start();
    port = await freePort();
    server = await startNodeServer(port);
    agent = await startAgent({
      env: {
        BEYLA_OPEN_PORT: String(port),
        OTEL_SERVICE_NAME: "orders",
        // gRPC: the base endpoint is scheme://host:port, no /v1/<signal> is appended
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=s3cr%20et,X-Tenant=acme",
        OTEL_METRIC_EXPORT_INTERVAL: "500",
        OTEL_BSP_SCHEDULE_DELAY: "200",
      },
      configYaml: "routes:\n  patterns: [/users/:id]\n",
    });
    await waitForInstrumented(agent, server.pid);
  });

  after(async () => {
    await agent?.stop();
    await stopAll();
    await receiver?.close();
  });

  it("pushes one span per request and histograms with exact counts over gRPC", async () => {
    const base = `http://127.0.0.1:${port}`;
    await run("ab", ["-q", "-k", "-n", String(USERS), "-c", "4", `${base}/users/42`]);
    const curlArgs = ["-s"];
    for (let i = 0; i < ERRORS; i++) curlArgs.push("-o", "/dev/null", `${base}/error`);
    await run("curl", curlArgs);

    const serverSpans = () =>
      receiver.spans().filter((s) => s.resource["service.name"] === "orders");
    const total = USERS + ERRORS;
    await waitFor(
      `${total} spans`,
      () => (serverSpans().length >= total ? true : undefined),
      15_000,
    );
    await new Promise((r) => setTimeout(r, 700));
    const spans = serverSpans();
    assert.equal(spans.length, total);
    assert.equal(new Set(spans.map((s) => s.spanId)).size, total);
    const users = spans.filter((s) => s.name === "GET /users/:id");
    assert.equal(users.length, USERS);
    for (const u of users) {
      assert.equal(u.kind, SPAN_KIND_SERVER);
      assert.equal(u.attributes["http.request.method"], "GET");
      assert.equal(u.attributes["http.response.status_code"], 200);
      assert.equal(u.attributes["http.route"], "/users/:id");
      assert.equal(u.attributes["url.path"], "/users/42");
      assert.equal(u.attributes["server.port"], port);
      assert.equal(u.resource["process.pid"], server.pid);
      assert.ok(u.endTimeUnixNano > u.startTimeUnixNano);
      assert.match(u.traceId, /^[0-9a-f]{32}$/);
    }
    const errors = spans.filter((s) => s.attributes["http.response.status_code"] === 500);
    assert.equal(errors.length, ERRORS);
    for (const e of errors) assert.equal(e.status.code, 2, "5xx server spans are errors");

    // cumulative histograms: the newest point of each attribute set holds the total
    await waitFor(
      "metric counts",
      () => (latestCount(receiver, port, 200) === USERS ? true : undefined),
      15_000,
    );
    assert.equal(latestCount(receiver, port, 200), USERS);
    assert.equal(latestCount(receiver, port, 500), ERRORS);

    const requests = receiver.requests();
    const paths = new Set(requests.map((r) => r.path));
    assert.deepEqual([...paths].sort(), [METRICS_EXPORT_PATH, TRACE_EXPORT_PATH]);
    for (const req of requests) {
      assert.equal(req.headers["x-api-key"], "s3cr et");
      assert.equal(req.headers["x-tenant"], "acme");
      assert.match(req.headers["user-agent"] ?? "", /OTel-OTLP-Exporter-JavaScript/);
    }
    assert.deepEqual(receiver.errors(), []);
    assert.equal(exportFailures(await agent.samples()), 0);
  });

  it("counts an Export call the receiver fails in beyla_export_failures_total", async () => {
    const before = receiver.requests().length;
    receiver.failNext(1);
    await agent.waitForSamples("one export failure", (s) => exportFailures(s) === 1, 10_000);
    // later calls succeed again and are not counted
    await waitFor(
      "two more accepted Export calls",
      () => (receiver.requests().length >= before + 2 ? true : undefined),
      10_000,
    );
    assert.equal(exportFailures(await agent.samples()), 1);
  });
});

function exportFailures(samples: Sample[]): number {
  return select(samples, "beyla_export_failures_total")
    .filter((s) => s.labels["exporter"]?.startsWith("otlp_"))
    .reduce((sum, s) => sum + s.value, 0);
}

function latestCount(receiver: OtlpGrpcReceiver, port: number, status: number): number {
  let latest: { time: bigint; count: number } | undefined;
  for (const m of receiver.metrics()) {
    if (m.name !== "http.server.request.duration" || m.resource["service.name"] !== "orders")
      continue;
    for (const p of m.points) {
      if (
        p.attributes["server.port"] !== port ||
        p.attributes["http.response.status_code"] !== status
      )
        continue;
      if (!latest || p.timeUnixNano >= latest.time)
        latest = { time: p.timeUnixNano, count: p.count ?? 0 };
    }
  }
  return latest?.count ?? -1;
}
