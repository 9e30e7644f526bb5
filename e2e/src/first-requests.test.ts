/**
 * The first requests of a new server are captured, even when they arrive before discovery has
 * looked at the process: the kernel captures every new listener provisionally from its
 * listen(), and the agent replays those records once it selects the process (or drops them).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { settledSamples, startAgent, type AgentHandle } from "./helpers/agent.js";
import { freePort, start, stopAll, waitFor, type Child } from "./helpers/processes.js";
import { total } from "./helpers/prom-text.js";

const DURATION = "http_server_request_duration_seconds_count";

/**
 * A server that sends `n` requests to itself, one after the other on one keep-alive
 * connection opened in its listen callback: they are served within a few milliseconds of
 * listen(), before the agent has looked at the new process.
 */
function selfCallingServer(port: number, n: number): Child {
  const script = `
const http = require("node:http");
const net = require("node:net");
const server = http.createServer((req, res) => res.end("ok"));
server.listen(${port}, "127.0.0.1", () => {
  const c = net.connect(${port}, "127.0.0.1");
  let sent = 0;
  const next = () => c.write("GET /users/" + sent++ + " HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n");
  c.on("data", (d) => {
    if (!d.toString().endsWith("ok")) return;
    if (sent < ${n}) next();
    else console.log("sent");
  });
  next();
});`;
  return start(process.execPath, ["-e", script]);
}

describe("the first requests of a new server", () => {
  let agent: AgentHandle;
  let selectedPort: number;
  let otherPort: number;

  before(async () => {
    selectedPort = await freePort();
    otherPort = await freePort();
    // A long poll: without the kernel's help the server would be found a minute later.
    agent = await startAgent({
      env: { BEYLA_OPEN_PORT: String(selectedPort), BEYLA_DISCOVERY_POLL_INTERVAL: "60s" },
    });
  });

  after(async () => {
    await agent?.stop();
    await stopAll();
  });

  it("are all counted when they come right after listen(); an unselected server gives nothing", async () => {
    const selected = selfCallingServer(selectedPort, 3);
    const other = selfCallingServer(otherPort, 4);
    for (const c of [selected, other]) {
      await waitFor("the requests to be sent", () =>
        c.stdout().includes("sent") ? true : undefined,
      );
    }
    const labels = { server_port: String(selectedPort), http_route: "/users/*" };
    const s = await settledSamples(agent, (x) => total(x, DURATION, labels) >= 3, "3 requests");
    assert.equal(total(s, DURATION, labels), 3);
    assert.equal(total(s, DURATION, { server_port: String(otherPort) }), 0);
    assert.equal(total(s, "beyla_requests_discarded_total", { reason: "provisional_overflow" }), 0);
  });
});
