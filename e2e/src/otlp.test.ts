import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OtlpReceiver } from "@beyla-ts/agent/dist/testing/otlp-receiver.js";
import { startAgent, waitForInstrumented, type AgentHandle } from "./helpers/agent.js";
import { freePort, run, stopAll, waitFor, type Child } from "./helpers/processes.js";
import { startNodeServer } from "./helpers/servers.js";

const SPAN_KIND_SERVER = 2;

for (const protocol of ["http/protobuf", "http/json"] as const) {
  describe(`OTLP export over ${protocol} with OTEL_EXPORTER_OTLP_* variables`, () => {
    let agent: AgentHandle;
    let server: Child;
    let receiver: OtlpReceiver;
    let port: number;

    before(async () => {
      receiver = await OtlpReceiver.start();
      port = await freePort();
      server = await startNodeServer(port);
      agent = await startAgent({
        env: {
          BEYLA_OPEN_PORT: String(port),
          OTEL_SERVICE_NAME: "orders",
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=s3cr%20et,x-tenant=acme",
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

    it("pushes one span per request and histograms with exact counts", async () => {
      const base = `http://127.0.0.1:${port}`;
      await run("ab", ["-q", "-k", "-n", "25", "-c", "3", `${base}/users/7`]);
      await run("curl", [
        "-s",
        "-o",
        "/dev/null",
        `${base}/error`,
        "-o",
        "/dev/null",
        `${base}/error`,
      ]);

      const serverSpans = () =>
        receiver.spans().filter((s) => s.resource["service.name"] === "orders");
      await waitFor("27 spans", () => (serverSpans().length >= 27 ? true : undefined), 15_000);
      await new Promise((r) => setTimeout(r, 500));
      const spans = serverSpans();
      assert.equal(spans.length, 27);
      const users = spans.filter((s) => s.name === "GET /users/:id");
      assert.equal(users.length, 25);
      const u = users[0]!;
      assert.equal(u.kind, SPAN_KIND_SERVER);
      assert.equal(u.attributes["http.request.method"], "GET");
      assert.equal(u.attributes["http.response.status_code"], 200);
      assert.equal(u.attributes["http.route"], "/users/:id");
      assert.equal(u.attributes["url.path"], "/users/7");
      assert.equal(u.attributes["server.port"], port);
      assert.equal(u.resource["process.pid"], server.pid);
      assert.ok(u.endTimeUnixNano > u.startTimeUnixNano);
      assert.match(u.traceId, /^[0-9a-f]{32}$/);
      const errors = spans.filter((s) => s.attributes["http.response.status_code"] === 500);
      assert.equal(errors.length, 2);
      assert.equal(errors[0]!.status.code, 2, "5xx server spans are errors");

      // cumulative histograms: the newest point of each attribute set holds the total
      await waitFor(
        "metric counts",
        () => (latestCount(receiver, port, 200) === 25 ? true : undefined),
        15_000,
      );
      assert.equal(latestCount(receiver, port, 200), 25);
      assert.equal(latestCount(receiver, port, 500), 2);

      for (const req of receiver.requests()) {
        assert.equal(req.headers["x-api-key"], "s3cr et");
        assert.equal(req.headers["x-tenant"], "acme");
        assert.equal(
          req.contentType,
          protocol === "http/json" ? "application/json" : "application/x-protobuf",
        );
      }
    });
  });
}

function latestCount(receiver: OtlpReceiver, port: number, status: number): number {
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
