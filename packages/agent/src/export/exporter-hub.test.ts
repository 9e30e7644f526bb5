import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ServiceIdentity } from "../request-span.js";
import { OtlpReceiver } from "../testing/otlp-receiver.js";
import { testService, testSpan } from "../testing/spans.js";
import { ExporterHub } from "./exporter-hub.js";

describe("ExporterHub", () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await OtlpReceiver.start();
  });
  after(() => receiver.close());

  it("fans spans out to every sink and flushes them at shutdown", async () => {
    const printed: string[] = [];
    const hub = await ExporterHub.create({
      prometheus: { hostName: "node1" },
      server: { port: 0, host: "127.0.0.1" },
      otlpMetrics: {
        endpoint: receiver.url,
        protocol: "http/json",
        headers: { "x-tenant": "a" },
        intervalMs: 60_000,
      },
      otlpTraces: {
        endpoint: receiver.url,
        protocol: "http/protobuf",
        headers: { "x-tenant": "a" },
      },
      tracePrinter: "text",
      tracePrinterWrite: (text) => printed.push(text),
    });
    await hub.start();
    const base = `http://127.0.0.1:${hub.serverPort}`;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);

    for (let i = 0; i < 137; i++) hub.record(testSpan({ path: `/users/${i}` }));
    hub.recordBatch([
      testSpan({ path: "/health", route: "/health", ignore: "metrics" }),
      testSpan({ path: "/health", route: "/health", ignore: "traces" }),
    ]);

    const scrape = await (await fetch(`${base}/metrics`)).text();
    const counts = scrape
      .split("\n")
      .filter((l) => l.startsWith("http_server_request_duration_seconds_count{"))
      .map((l) => `${/http_route="([^"]*)"/.exec(l)?.[1]} ${l.split(" ").at(-1)}`);
    assert.deepEqual(counts, ["/users/* 137", "/health 1"]);
    assert.match(scrape, /^beyla_series_dropped_total 0$/m);

    await hub.shutdown();
    await hub.shutdown();
    await receiver.waitFor((r) => r.spans().length === 138);
    await receiver.waitFor((r) =>
      r.metrics().some((m) => m.name === "http.server.request.duration"),
    );
    const duration = receiver.metrics().filter((m) => m.name === "http.server.request.duration");
    const points = duration.flatMap((m) => m.points);
    const byRoute = points.map((p) => `${p.attributes["http.route"]} ${p.count}`).sort();
    assert.deepEqual(byRoute, ["/health 1", "/users/* 137"]);
    assert.ok(receiver.requests().every((r) => r.headers["x-tenant"] === "a"));
    assert.equal(printed.length, 139);
    const internal = await hub.internal.registry.metrics();
    assert.doesNotMatch(internal, /^beyla_export_failures_total\{/m);
    assert.doesNotMatch(internal, /^beyla_spans_dropped_total\{/m);
  });

  it("ties target_info and OTLP providers to the process lifetime", async () => {
    const local = await OtlpReceiver.start();
    const hub = await ExporterHub.create({
      prometheus: { hostName: "node1" },
      server: { port: 0, host: "127.0.0.1" },
      otlpTraces: { endpoint: local.url, protocol: "http/json", headers: {} },
    });
    await hub.start();
    const scrape = async (): Promise<string> =>
      (await fetch(`http://127.0.0.1:${hub.serverPort}/metrics`)).text();
    const service = testService({ pid: 4321, instanceId: "node1-4321" });

    hub.processAdded(service);
    assert.match(await scrape(), /^target_info\{.*service_instance_id="node1-4321".*\} 1$/m);
    hub.record(testSpan({ service }));
    hub.processRemoved(4321);
    await local.waitFor((r) => r.spans().length === 1);
    assert.doesNotMatch(await scrape(), /^target_info\{/m);

    hub.updateInternal({
      recordsReceived: 9,
      recordsDropped: 2,
      parseFailures: 1,
      instrumentedProcesses: 0,
    });
    const text = await scrape();
    assert.match(text, /^beyla_ebpf_records_received_total 9$/m);
    assert.match(text, /^beyla_ebpf_records_dropped_total 2$/m);
    assert.match(text, /^beyla_parse_failures_total 1$/m);
    assert.match(text, /^beyla_instrumented_processes 0$/m);
    await hub.shutdown();
    await local.close();
  });

  it("counts a sink that throws and keeps going", async () => {
    const printed: string[] = [];
    const hub = await ExporterHub.create({
      prometheus: { hostName: "node1" },
      tracePrinter: "json",
      tracePrinterWrite: (text) => printed.push(text),
    });
    await hub.start();
    const broken = testSpan({ service: null as unknown as ServiceIdentity });
    hub.record(broken);
    hub.record(testSpan());
    const text = await hub.internal.registry.metrics();
    assert.match(text, /^beyla_export_failures_total\{exporter="prometheus"\} 1$/m);
    assert.match(text, /^beyla_export_failures_total\{exporter="trace_printer"\} 1$/m);
    assert.equal(printed.length, 1);
    assert.equal(hub.prometheus?.seriesCount, 1);
    await hub.shutdown();
    hub.record(testSpan());
    assert.equal(printed.length, 1);
  });

  it("fails at construction when an exporter is misconfigured", async () => {
    await assert.rejects(
      ExporterHub.create({
        otlpTraces: {
          endpoint: "http://localhost:4317",
          protocol: "grpc",
          headers: { "x tenant": "a" },
        },
      }),
      /otel_traces_export\.headers: "x tenant" is not a valid gRPC metadata key/,
    );
  });

  it("refuses OTLP exporters without their classes (ExporterHub.create loads them)", () => {
    assert.throws(
      () =>
        new ExporterHub({
          otlpTraces: { endpoint: "http://x", protocol: "http/json", headers: {} },
        }),
      /OTLP exporters need ExporterHub\.create\(\)/,
    );
  });
});
