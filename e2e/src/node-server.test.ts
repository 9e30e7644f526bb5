import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  settledSamples,
  startAgent,
  waitForInstrumented,
  type AgentHandle,
} from "./helpers/agent.js";
import { freePort, run, stopAll, type Child } from "./helpers/processes.js";
import { select, total } from "./helpers/prom-text.js";
import { startNodeServer } from "./helpers/servers.js";

const DURATION = "http_server_request_duration_seconds_count";
const RESPONSE_SIZE_SUM = "http_server_response_body_size_bytes_sum";
const REQUEST_SIZE_SUM = "http_server_request_body_size_bytes_sum";

describe("Node http server selected by open port", () => {
  let agent: AgentHandle;
  let server: Child;
  let other: Child;
  let port: number;
  let otherPort: number;

  before(async () => {
    port = await freePort();
    otherPort = await freePort();
    server = await startNodeServer(port);
    other = await startNodeServer(otherPort);
    agent = await startAgent({
      env: { BEYLA_OPEN_PORT: String(port), BEYLA_TRACE_PRINTER: "text" },
      configYaml: "routes:\n  patterns:\n    - /users/{id}\n  unmatched: heuristic\n",
    });
    await waitForInstrumented(agent, server.pid);
  });

  after(async () => {
    await agent?.stop();
    await stopAll();
  });

  it("counts keep-alive, concurrent, error, chunked, large and POST requests exactly", async () => {
    const base = `http://127.0.0.1:${port}`;
    // 7 requests on one keep-alive connection
    const users = Array.from({ length: 7 }, (_, i) => `${base}/users/${i + 1}`);
    await run("curl", ["-sf", "-o", "/dev/null", ...users.flatMap((u) => [u, "-o", "/dev/null"])]);
    // 137 requests over 5 concurrent keep-alive connections
    await run("ab", ["-q", "-k", "-n", "137", "-c", "5", `${base}/users/42`]);
    await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      `${base}/error`,
      "-o",
      "/dev/null",
      `${base}/error`,
      "-o",
      "/dev/null",
      `${base}/error`,
    ]);
    await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      `${base}/chunked`,
      "-o",
      "/dev/null",
      `${base}/chunked`,
    ]);
    await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      `${base}/large`,
      "-o",
      "/dev/null",
      `${base}/large`,
    ]);
    for (let i = 0; i < 4; i++) {
      await run("curl", [
        "-s",
        "-o",
        "/dev/null",
        "-X",
        "POST",
        "--data-binary",
        "x".repeat(1000),
        `${base}/echo`,
      ]);
    }
    await run("curl", ["-s", "-o", "/dev/null", `${base}/nope`]);
    // traffic to a server that is not selected
    await run("ab", ["-q", "-k", "-n", "25", "-c", "2", `http://127.0.0.1:${otherPort}/users/1`]);

    const labels = { service_name: "node", server_port: String(port) };
    const s = await settledSamples(
      agent,
      (x) => total(x, DURATION, labels) >= 7 + 137 + 3 + 2 + 2 + 4 + 1,
      "all node requests",
    );
    const count = (extra: Record<string, string>) => total(s, DURATION, { ...labels, ...extra });
    assert.equal(
      count({
        http_request_method: "GET",
        http_route: "/users/{id}",
        http_response_status_code: "200",
      }),
      144,
    );
    assert.equal(count({ http_route: "/error", http_response_status_code: "500" }), 3);
    assert.equal(count({ http_route: "/chunked", http_response_status_code: "200" }), 2);
    assert.equal(count({ http_route: "/large", http_response_status_code: "200" }), 2);
    assert.equal(
      count({ http_request_method: "POST", http_route: "/echo", http_response_status_code: "201" }),
      4,
    );
    assert.equal(count({ http_route: "/nope", http_response_status_code: "404" }), 1);
    assert.equal(count({}), 156);

    // body sizes: 1 MiB each for /large; chunked framing of 5 chunks of 8 bytes is 70 bytes
    assert.equal(total(s, RESPONSE_SIZE_SUM, { ...labels, http_route: "/large" }), 2 * 1024 * 1024);
    assert.equal(total(s, RESPONSE_SIZE_SUM, { ...labels, http_route: "/chunked" }), 2 * 70);
    assert.equal(total(s, REQUEST_SIZE_SUM, { ...labels, http_route: "/echo" }), 4000);

    // nothing at all from the server that was not selected
    assert.deepEqual(select(s, DURATION, { server_port: String(otherPort) }), []);
    assert.equal(agent.child.stderr().includes(`pid=${other.pid} `), false);

    // the trace printer printed one line per request
    const printed = agent.child
      .stdout()
      .split("\n")
      .filter((l) => l.includes(" /users/"));
    assert.equal(printed.length, 144);
  });
});
