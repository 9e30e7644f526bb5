import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  settledSamples,
  startAgent,
  waitForInstrumented,
  type AgentHandle,
} from "./helpers/agent.js";
import { freePort, run, start, stopAll, waitForPort, type Child } from "./helpers/processes.js";
import { total } from "./helpers/prom-text.js";

const DURATION = "http_server_request_duration_seconds_count";

describe("Python http.server selected by executable path", () => {
  let agent: AgentHandle;
  let server: Child;
  let port: number;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), "beyla-py-"));
    writeFileSync(join(dir, "index.html"), "x".repeat(100));
    writeFileSync(join(dir, "big.bin"), Buffer.alloc(2 * 1024 * 1024, 7));
    port = await freePort();
    server = start("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1"], {
      cwd: dir,
      env: { ...process.env, OTEL_SERVICE_NAME: "py-files" },
    });
    await waitForPort(port);
    agent = await startAgent({
      env: { BEYLA_EXECUTABLE_NAME: "python3" },
      configYaml: "routes:\n  unmatched: path\n",
    });
    await waitForInstrumented(agent, server.pid);
  });

  after(async () => {
    await agent?.stop();
    await stopAll();
  });

  it("counts every request with the service name from the process's OTEL_SERVICE_NAME", async () => {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 5; i++)
      await run("curl", ["-s", "-o", "/dev/null", `${base}/index.html?i=${i}`]);
    for (let i = 0; i < 3; i++) await run("curl", ["-s", "-o", "/dev/null", `${base}/missing`]);
    for (let i = 0; i < 2; i++) await run("curl", ["-s", "-o", "/dev/null", `${base}/big.bin`]);

    const labels = { service_name: "py-files", server_port: String(port) };
    const s = await settledSamples(
      agent,
      (x) => total(x, DURATION, labels) >= 10,
      "python requests",
    );
    assert.equal(
      total(s, DURATION, {
        ...labels,
        http_route: "/index.html",
        http_response_status_code: "200",
      }),
      5,
    );
    assert.equal(
      total(s, DURATION, { ...labels, http_route: "/missing", http_response_status_code: "404" }),
      3,
    );
    assert.equal(
      total(s, DURATION, { ...labels, http_route: "/big.bin", http_response_status_code: "200" }),
      2,
    );
    assert.equal(total(s, DURATION, labels), 10);
    assert.equal(
      total(s, "http_server_response_body_size_bytes_sum", { ...labels, http_route: "/big.bin" }),
      2 * 2 * 1024 * 1024,
    );
    assert.equal(
      total(s, "http_server_response_body_size_bytes_sum", {
        ...labels,
        http_route: "/index.html",
      }),
      500,
    );
  });
});
