import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { T0_NANOS, testClientSpan, testService, testSpan } from "../testing/spans.js";
import { formatDuration, parseTracePrinterMode, TracePrinter } from "./trace-printer.js";

function printed(mode: "text" | "json" | "counter", record: (p: TracePrinter) => void): string {
  let out = "";
  const printer = new TracePrinter({ mode, write: (text) => (out += text) });
  record(printer);
  printer.shutdown();
  printer.shutdown();
  return out;
}

describe("TracePrinter", () => {
  it("prints one text line per server request, peer first", () => {
    assert.equal(
      printed("text", (p) => p.record(testSpan())),
      "2026-11-23 10:00:00.123 (1.2ms) GET 200 /users/123 " +
        "[127.0.0.1:41234]->[127.0.0.1:8080] svc=[nginx] pid=1234 kind=server\n",
    );
  });

  it("prints client requests local first, namespaces and IPv6 addresses", () => {
    const span = testClientSpan({
      localAddress: "fd00::5",
      peerAddress: "fd00::9",
      statusCode: 503,
      endUnixNano: T0_NANOS + 25_000n,
      service: testService({ name: "api", namespace: "shop", pid: 7 }),
    });
    assert.equal(
      printed("text", (p) => p.record(span)),
      "2026-11-23 10:00:00.123 (25µs) GET 503 /api/items " +
        "[[fd00::5]:50000]->[[fd00::9]:80] svc=[shop/api] pid=7 kind=client\n",
    );
  });

  it("prints one JSON object per line", () => {
    const out = printed("json", (p) => {
      p.record(testSpan());
      p.record(testSpan({ route: undefined, statusCode: 0 }));
    });
    const lines = out.split("\n");
    assert.equal(lines.length, 3);
    assert.equal(lines[2], "");
    assert.deepEqual(JSON.parse(lines[0] ?? ""), {
      time: "2026-11-23T10:00:00.123Z",
      kind: "server",
      method: "GET",
      path: "/users/123",
      route: "/users/*",
      status: 200,
      startUnixNano: "1795428000123000000",
      endUnixNano: "1795428000124200000",
      duration: "1.2ms",
      durationUSec: 1200,
      localAddress: "127.0.0.1",
      localPort: 8080,
      peerAddress: "127.0.0.1",
      peerPort: 41234,
      serverAddress: "127.0.0.1",
      serverPort: 8080,
      host: "",
      requestBodySize: 0,
      responseBodySize: 512,
      ignore: "none",
      service: {
        name: "nginx",
        namespace: "",
        instanceId: "node1-1234",
        pid: 1234,
        exePath: "/usr/sbin/nginx",
      },
    });
    assert.equal(JSON.parse(lines[1] ?? "").route, null);
  });

  it("counts requests in counter mode", () => {
    assert.equal(
      printed("counter", (p) => {
        for (let i = 0; i < 3; i++) p.record(testSpan());
      }),
      "Processed 3 requests\n",
    );
  });

  it("formats durations like Go", () => {
    const cases: [bigint, string][] = [
      [0n, "0ns"],
      [850n, "850ns"],
      [25_000n, "25µs"],
      [1_234_567n, "1.234567ms"],
      [3_500_000_000n, "3.5s"],
      [62_500_000_000n, "1m2.5s"],
      [3_723_000_000_000n, "1h2m3s"],
    ];
    for (const [ns, text] of cases) assert.equal(formatDuration(ns), text);
  });

  it("rejects unknown modes, naming the field", () => {
    assert.equal(parseTracePrinterMode("json"), "json");
    assert.throws(
      () => parseTracePrinterMode("yaml", "BEYLA_TRACE_PRINTER"),
      /BEYLA_TRACE_PRINTER: "yaml" is not a valid trace printer; allowed: disabled, text, json/,
    );
  });
});
