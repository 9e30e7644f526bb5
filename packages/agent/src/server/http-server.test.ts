import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InternalMetrics } from "../export/internal-metrics.js";
import { PrometheusMetrics } from "../export/prometheus-metrics.js";
import { testSpan } from "../testing/spans.js";
import { AgentHttpServer, type Readiness } from "./http-server.js";

async function withServer(
  options: Partial<ConstructorParameters<typeof AgentHttpServer>[0]>,
  run: (base: string) => Promise<void>,
): Promise<void> {
  const server = new AgentHttpServer({ port: 0, host: "127.0.0.1", sources: [], ...options });
  const port = await server.listen();
  try {
    await run(`http://127.0.0.1:${port}`);
  } finally {
    await server.close();
    await server.close();
  }
}

describe("AgentHttpServer", () => {
  it("serves application and internal metrics on one endpoint", async () => {
    const app = new PrometheusMetrics({ hostName: "node1" });
    const internal = new InternalMetrics();
    for (let i = 0; i < 137; i++) app.record(testSpan());
    internal.recordsReceived(137);
    internal.setKernelDropsSource(() => 4);
    await withServer({ sources: [app, internal], metricsPath: "/custom" }, async (base) => {
      const res = await fetch(`${base}/custom`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      const body = await res.text();
      assert.match(
        body,
        /^http_server_request_duration_seconds_count\{http_request_method="GET",http_response_status_code="200",http_route="\/users\/\*",url_scheme="http",server_address="127\.0\.0\.1",server_port="8080",service_name="nginx",service_namespace="",service_instance_id="node1-1234"\} 137$/m,
      );
      assert.match(body, /^beyla_ebpf_records_received_total 137$/m);
      assert.match(body, /^beyla_ebpf_records_dropped_total 4$/m);
      assert.equal((await fetch(`${base}/metrics`)).status, 404);
    });
  });

  it("streams a scrape of 10,000 series completely", async () => {
    const app = new PrometheusMetrics({ hostName: "node1", maxSeries: 10_000 });
    for (let i = 0; i < 10_000; i++) app.record(testSpan({ route: `/route/${i}` }));
    await withServer({ sources: [app] }, async (base) => {
      const body = await (await fetch(`${base}/metrics`)).text();
      const counts = body
        .split("\n")
        .filter((l) => l.startsWith("http_server_request_duration_seconds_count{"));
      assert.equal(counts.length, 10_000);
      assert.ok(counts.every((l) => l.endsWith("} 1")));
      assert.ok(body.endsWith("\n"));
    });
  });

  it("answers /healthz, and /readyz with 503 until ready", async () => {
    let readiness: Readiness = { ready: false, reason: "probes not attached" };
    await withServer({ readiness: () => readiness }, async (base) => {
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: "ok" });

      const notReady = await fetch(`${base}/readyz`);
      assert.equal(notReady.status, 503);
      assert.deepEqual(await notReady.json(), {
        status: "not ready",
        reason: "probes not attached",
      });

      readiness = { ready: true };
      const ready = await fetch(`${base}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: "ready" });
    });
  });

  it("reports a throwing readiness check as not ready", async () => {
    const readiness = (): boolean => {
      throw new Error("kernel feature probe failed");
    };
    await withServer({ readiness }, async (base) => {
      const res = await fetch(`${base}/readyz`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), {
        status: "not ready",
        reason: "kernel feature probe failed",
      });
    });
  });

  it("answers 500 when a metrics source fails before rendering anything", async () => {
    const failing = {
      // eslint-disable-next-line require-yield
      async *collect(): AsyncGenerator<string> {
        throw new Error("registry broken");
      },
    };
    await withServer({ sources: [failing] }, async (base) => {
      assert.equal((await fetch(`${base}/metrics`)).status, 500);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
    });
  });

  it("rejects bad ports and paths, naming the field", () => {
    assert.throws(
      () => new AgentHttpServer({ port: 70000, sources: [] }),
      /prometheus_export\.port: 70000 is not a TCP port/,
    );
    assert.throws(
      () => new AgentHttpServer({ port: 9090, metricsPath: "metrics", sources: [] }),
      /prometheus_export\.path: "metrics" must start with "\/"/,
    );
  });

  it("closes safely before listening", async () => {
    const server = new AgentHttpServer({ port: 0, sources: [] });
    await server.close();
    await server.close();
  });
});
