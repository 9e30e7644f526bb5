import assert from "node:assert/strict";
import { connect } from "node:net";
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

/** Sends `pieces` on one connection with pauses between them; resolves with the reply. */
function sendInPieces(port: number, host: string, pieces: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let reply = "";
    socket.on("data", (d) => {
      reply += d.toString("latin1");
      if (reply.includes("\r\n\r\n") && reply.endsWith("}\n")) socket.end();
    });
    socket.on("close", () => resolve(reply));
    socket.on("error", reject);
    socket.on("connect", async () => {
      for (const piece of pieces) {
        socket.write(piece);
        await new Promise((r) => setTimeout(r, 30));
      }
    });
  });
}

describe("edge cases of capture", () => {
  let agent: AgentHandle;
  let v4: Child;
  let v6: Child;
  let port4: number;
  let port6: number;

  before(async () => {
    port4 = await freePort();
    port6 = await freePort();
    v4 = await startNodeServer(port4);
    v6 = await startNodeServer(port6, "::1");
    agent = await startAgent({ env: { BEYLA_OPEN_PORT: `${port4},${port6}` } });
    await waitForInstrumented(agent, v4.pid);
    await waitForInstrumented(agent, v6.pid);
  });

  after(async () => {
    await agent?.stop();
    await stopAll();
  });

  it("counts a request whose headers arrive in three separate writes once", async () => {
    const reply = await sendInPieces(port4, "127.0.0.1", [
      "GET /users/77 HTTP/1.1\r\nHo",
      "st: split.example\r\nConnection: close\r\n",
      "\r\n",
    ]);
    assert.match(reply, /^HTTP\/1\.1 200 OK/);
    const labels = { server_port: String(port4), http_route: "/users/*" };
    const s = await settledSamples(agent, (x) => total(x, DURATION, labels) >= 1, "split request");
    assert.equal(total(s, DURATION, labels), 1);
    // The kernel keeps the first bytes of the first segment only: the Host header came in the
    // second one, so server.address falls back to the local address.
    assert.equal(total(s, DURATION, { ...labels, server_address: "127.0.0.1" }), 1);
  });

  it("captures IPv6 connections with the address from the Host header", async () => {
    await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      `http://[::1]:${port6}/users/1`,
      "-o",
      "/dev/null",
      `http://[::1]:${port6}/users/2`,
    ]);
    const labels = { server_port: String(port6) };
    const s = await settledSamples(agent, (x) => total(x, DURATION, labels) >= 2, "IPv6 requests");
    assert.equal(
      total(s, DURATION, { ...labels, server_address: "::1", http_response_status_code: "200" }),
      2,
    );
  });

  it("counts every record it received in its own metrics", async () => {
    const s = await agent.waitForSamples(
      "internal counters",
      (x) => total(x, "beyla_ebpf_records_received_total") >= 3,
    );
    assert.equal(total(s, "beyla_ebpf_records_received_total"), 3);
    assert.equal(total(s, "beyla_ebpf_records_dropped_total"), 0);
    assert.equal(total(s, "beyla_parse_failures_total"), 0);
    assert.equal(total(s, "beyla_instrumented_processes"), 2);
  });
});

describe("the agent never instruments itself", () => {
  let agent: AgentHandle;

  after(async () => {
    await agent?.stop();
    await stopAll();
  });

  it("ignores its own metrics port even when it is selected", async () => {
    const metricsPort = await freePort();
    agent = await startAgent({ env: { BEYLA_OPEN_PORT: String(metricsPort) }, metricsPort });
    for (let i = 0; i < 5; i++) await agent.samples();
    await new Promise((r) => setTimeout(r, 1500));
    const s = await agent.samples();
    assert.deepEqual(select(s, DURATION), []);
    assert.equal(total(s, "beyla_instrumented_processes"), 0);
    assert.equal(agent.child.stderr().includes('msg="instrumenting process"'), false);
  });
});
