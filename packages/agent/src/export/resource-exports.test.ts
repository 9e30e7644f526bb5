import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { OtlpReceiver } from "../testing/otlp-receiver.js";
import { testService, testSpan } from "../testing/spans.js";
import { ExporterHub } from "./exporter-hub.js";
import { ResourceExports } from "./resource-exports.js";

const COUNT = "http_server_request_duration_seconds_count{";

/** The count lines of a scrape, as "service_name count". */
async function counts(url: string): Promise<string[]> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return (await response.text())
    .split("\n")
    .filter((l) => l.startsWith(COUNT))
    .map((l) => `${/service_name="([^"]*)"/.exec(l)?.[1]} ${l.split(" ").at(-1)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("ResourceExports", () => {
  let agentReceiver: OtlpReceiver;
  let teamReceiver: OtlpReceiver;
  let hub: ExporterHub;
  let exports: ResourceExports;
  let base: string;

  before(async () => {
    agentReceiver = await OtlpReceiver.start();
    teamReceiver = await OtlpReceiver.start();
    const otlp = { endpoint: agentReceiver.url, protocol: "http/json" as const, headers: {} };
    hub = await ExporterHub.create({
      prometheus: { hostName: "node1" },
      server: { port: 0, host: "127.0.0.1" },
      otlpMetrics: { ...otlp, intervalMs: 60_000 },
      otlpTraces: otlp,
    });
    await hub.start();
    base = `http://127.0.0.1:${hub.serverPort}`;
    exports = new ResourceExports({
      hub,
      ttlMs: 60_000,
      maxSeries: 1000,
      metricsIntervalMs: 60_000,
      agentPrometheus: { port: hub.serverPort!, path: "/metrics" },
    });
  });

  after(async () => {
    await exports.shutdown();
    await hub.shutdown();
    await agentReceiver.close();
    await teamReceiver.close();
  });

  it("sends a resource's processes to its OTLP receiver with its headers, the others to the agent's", async () => {
    const request = {
      otlp: {
        endpoint: teamReceiver.url,
        protocol: "http/protobuf" as const,
        headers: { authorization: "Bearer team" },
      },
    };
    const team = await exports.exportFor(request);
    assert.ok(team);
    assert.equal(await exports.exportFor({ ...request }), team, "equal requests share one export");
    const teamService = testService({ name: "team-svc", pid: 11, instanceId: "node1-11" });
    team.processAdded(teamService);
    for (let i = 0; i < 7; i++) team.record(testSpan({ service: teamService }));
    for (let i = 0; i < 3; i++) hub.record(testSpan({ service: testService({ name: "other" }) }));

    // No resource asks for it any more: closed, and its last data flushed.
    await exports.retain([]);
    const teamSpans = teamReceiver.spans();
    assert.deepEqual(
      teamSpans.map((s) => s.resource["service.name"]),
      Array<string>(7).fill("team-svc"),
    );
    const teamCounts = teamReceiver
      .metrics()
      .filter((m) => m.name === "http.server.request.duration")
      .flatMap((m) => m.points.map((p) => p.count));
    assert.deepEqual(teamCounts, [7]);
    for (const r of teamReceiver.requests())
      assert.equal(r.headers["authorization"], "Bearer team");

    await hub.otlpTraces?.flush();
    assert.deepEqual(
      agentReceiver.spans().map((s) => s.resource["service.name"]),
      ["other", "other", "other"],
    );
    // Prometheus stays the agent's for both: the resource named only OTLP.
    assert.deepEqual(await counts(`${base}/metrics`), ["team-svc 7", "other 3"]);
  });

  it("serves a resource's series on its own path of the agent's port, and on a port of its own", async () => {
    const ownPort = await freePort();
    const onAgentPort = await exports.exportFor({
      prometheus: { port: hub.serverPort!, path: "/team-a" },
    });
    const onOwnPort = await exports.exportFor({ prometheus: { port: ownPort, path: "/m" } });
    assert.ok(onAgentPort && onOwnPort);
    const a = testService({ name: "svc-a", pid: 21, instanceId: "node1-21" });
    const b = testService({ name: "svc-b", pid: 22, instanceId: "node1-22" });
    onAgentPort.processAdded(a);
    onOwnPort.processAdded(b);
    for (let i = 0; i < 5; i++) onAgentPort.record(testSpan({ service: a }));
    for (let i = 0; i < 4; i++) onOwnPort.record(testSpan({ service: b }));

    assert.deepEqual(await counts(`${base}/team-a`), ["svc-a 5"]);
    assert.deepEqual(await counts(`http://127.0.0.1:${ownPort}/m`), ["svc-b 4"]);
    const agentScrape = await counts(`${base}/metrics`);
    assert.ok(
      !agentScrape.some((l) => l.startsWith("svc-a") || l.startsWith("svc-b")),
      agentScrape.join(),
    );

    // The agent's own endpoint is not a destination of its own: nothing to route.
    assert.equal(
      await exports.exportFor({ prometheus: { port: hub.serverPort!, path: "/metrics" } }),
      undefined,
    );

    // svc-b's resource goes away: its port closes; svc-a's path stays.
    await exports.retain([{ prometheus: { port: hub.serverPort!, path: "/team-a" } }]);
    await assert.rejects(fetch(`http://127.0.0.1:${ownPort}/m`));
    assert.deepEqual(await counts(`${base}/team-a`), ["svc-a 5"]);
    await exports.retain([]);
    assert.equal((await fetch(`${base}/team-a`)).status, 404);
  });

  it("refuses a port it cannot serve, naming the field", async () => {
    const blocker = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(
        exports.exportFor({ prometheus: { port, path: "/metrics" } }),
        new RegExp(
          `^Error: spec\\.export\\.prometheus\\.port: cannot serve port ${port}: .*EADDRINUSE`,
        ),
      );
    } finally {
      blocker.close();
    }
  });
});
