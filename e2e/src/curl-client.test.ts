import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { settledSamples, startAgent, type AgentHandle } from "./helpers/agent.js";
import { freePort, start, stopAll, waitFor, type Child } from "./helpers/processes.js";
import { select, total } from "./helpers/prom-text.js";
import { startNodeServer } from "./helpers/servers.js";

const CLIENT = "http_client_request_duration_seconds_count";

describe("curl selected by executable path: client spans", () => {
  let agent: AgentHandle;
  let port: number;

  before(async () => {
    port = await freePort();
    await startNodeServer(port); // not selected: only the client side is instrumented
    agent = await startAgent({
      env: {
        BEYLA_EXECUTABLE_NAME: "/curl$",
        BEYLA_DISCOVERY_POLL_INTERVAL: "100ms",
        BEYLA_TRACE_PRINTER: "text",
      },
    });
  });

  after(async () => {
    await agent?.stop();
    await stopAll();
  });

  it("records each request curl makes once it is selected, with the server address", async () => {
    const base = `http://127.0.0.1:${port}`;
    // The first request takes 1.5 s: curl is selected while it waits, so the next 6 requests
    // (on the same keep-alive connection) are all captured from their first byte.
    const urls = [`${base}/slow`, ...Array.from({ length: 6 }, (_, i) => `${base}/users/${i}`)];
    const curl: Child = start("curl", ["-s", ...urls.flatMap((u) => ["-o", "/dev/null", u])]);
    await waitFor("curl to be instrumented", () =>
      agent.child.stderr().includes(`msg="instrumenting process" pid=${curl.pid} `)
        ? true
        : undefined,
    );
    await waitFor("curl to finish", () => (curl.proc.exitCode !== null ? true : undefined), 10_000);
    assert.equal(curl.proc.exitCode, 0);

    const labels = { service_name: "curl", server_port: String(port) };
    const s = await settledSamples(
      agent,
      (x) => total(x, CLIENT, labels) >= 6,
      "curl client requests",
    );
    assert.equal(
      total(s, CLIENT, {
        ...labels,
        http_request_method: "GET",
        http_response_status_code: "200",
        http_route: "/users/*",
        server_address: "127.0.0.1",
      }),
      6,
    );
    assert.equal(total(s, CLIENT, labels), 6);
    assert.deepEqual(select(s, "http_server_request_duration_seconds_count"), []);
    const printed = agent.child
      .stdout()
      .split("\n")
      .filter((l) => l.includes("kind=client"));
    assert.equal(printed.length, 6);
  });
});
