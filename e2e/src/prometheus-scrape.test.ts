import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startAgent, waitForInstrumented, type AgentHandle } from "./helpers/agent.js";
import {
  freePort,
  run,
  start,
  stopAll,
  waitFor,
  waitForPort,
  type Child,
} from "./helpers/processes.js";
import { startNodeServer } from "./helpers/servers.js";

/** Runs an instant PromQL query and returns the single value, or undefined when empty. */
async function query(promPort: number, promql: string): Promise<number | undefined> {
  const url = `http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(promql)}`;
  const body = (await (await fetch(url)).json()) as {
    data: { result: { value: [number, string] }[] };
  };
  const first = body.data.result[0];
  return first ? Number(first.value[1]) : undefined;
}

describe("a real Prometheus scrapes the agent", () => {
  let agent: AgentHandle;
  let server: Child;
  let port: number;
  let promPort: number;

  before(async () => {
    port = await freePort();
    server = await startNodeServer(port);
    agent = await startAgent({ env: { BEYLA_OPEN_PORT: String(port) } });
    await waitForInstrumented(agent, server.pid);
    promPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "beyla-prom-"));
    writeFileSync(
      join(dir, "prometheus.yml"),
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: beyla\n    static_configs:\n      - targets: ["127.0.0.1:${agent.metricsPort}"]\n`,
    );
    start("prometheus", [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
    await waitForPort(promPort, 20_000);
  });

  after(async () => {
    await agent?.stop();
    await stopAll();
  });

  it("stores the exact request count with the agent's labels", async () => {
    await run("ab", ["-q", "-k", "-n", "40", "-c", "4", `http://127.0.0.1:${port}/users/3`]);
    const promql = `sum(http_server_request_duration_seconds_count{job="beyla",server_port="${port}",http_route="/users/*",http_response_status_code="200",service_name="node"})`;
    const value = await waitFor(
      "Prometheus to hold 40 requests",
      async () => ((await query(promPort, promql)) === 40 ? 40 : undefined),
      20_000,
    );
    assert.equal(value, 40);
    assert.equal(
      await query(
        promPort,
        `sum(target_info{job="beyla",service_name="node",process_pid="${server.pid}"})`,
      ),
      1,
    );
    assert.equal(await query(promPort, `up{job="beyla"}`), 1);
  });
});
