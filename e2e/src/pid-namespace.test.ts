import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AGENT_CLI, captureHooksFromTestEnv } from "./helpers/agent.js";
import {
  freePort,
  REPO_ROOT,
  run,
  start,
  stopAll,
  waitFor,
  waitForPort,
  type Child,
} from "./helpers/processes.js";
import { parsePromText, select, total, type Sample } from "./helpers/prom-text.js";
import { startNodeServer } from "./helpers/servers.js";

// The agent in its own PID namespace, as in a hostPID pod on a kind node (the node is a
// container): `unshare --pid --fork --mount-proc`. Its /proc shows that namespace's pids;
// the kernel programs must select and report processes by those pids.

const DURATION = "http_server_request_duration_seconds_count";

/** The pid of the process listening on 127.0.0.1:port, as this test's /proc names it. */
async function listenerPid(port: number): Promise<number> {
  const out = await run("ss", ["-ltnpH", `sport = :${port}`]);
  const pids = [...new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
  assert.equal(pids.length, 1, `one process listens on ${port}: ${out}`);
  return pids[0]!;
}

/** The NSpid line of a process: its pid in each namespace, ours first. */
function nsPids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("NSpid:"))!;
  return line.slice(6).trim().split(/\s+/).map(Number);
}

describe("agent in its own PID namespace", () => {
  let ns: Child;
  let hostServer: Child;
  let metricsPort: number;
  let inner: number; // Node server in the agent's namespace
  let nested: number; // python in a namespace nested in the agent's (like a pod's container)
  let outer: number; // Node server in this test's namespace: invisible to the agent
  let innerPid: number; // pids as the agent sees them
  let nestedPid: number;
  let agentNsIno: bigint;

  const samples = async (): Promise<Sample[]> =>
    parsePromText(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());

  before(async () => {
    [inner, nested, outer, metricsPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    hostServer = await startNodeServer(outer);
    const dir = mkdtempSync(join(tmpdir(), "beyla-pidns-"));
    writeFileSync(join(dir, "hello.txt"), "hello world\n");
    const fixture = join(REPO_ROOT, "e2e", "fixtures", "node-server.mjs");
    const script = [
      `"${process.execPath}" "${fixture}" ${inner} 127.0.0.1 &`,
      `unshare --pid --fork --kill-child python3 -m http.server ${nested} --bind 127.0.0.1 --directory "${dir}" &`,
      `exec "${process.execPath}" "${AGENT_CLI}"`,
    ].join("\n");
    ns = start("unshare", ["--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c", script], {
      env: {
        PATH: process.env["PATH"] ?? "/usr/bin:/bin",
        BEYLA_OPEN_PORT: `${inner},${nested},${outer}`,
        BEYLA_PROMETHEUS_PORT: String(metricsPort),
        BEYLA_TRACE_PRINTER: "text",
        BEYLA_LOG_LEVEL: "debug",
        ...captureHooksFromTestEnv(),
      },
    });
    await waitForPort(inner);
    await waitForPort(nested);
    const innerIds = nsPids(await listenerPid(inner));
    const nestedIds = nsPids(await listenerPid(nested));
    assert.equal(innerIds.length, 2, "the inner server is one namespace below ours");
    assert.equal(nestedIds.length, 3, "the nested server is two namespaces below ours");
    innerPid = innerIds[1]!;
    nestedPid = nestedIds[1]!;
    assert.equal(nestedIds[2], 1, "python is the init of its own namespace");
    agentNsIno = statSync(`/proc/${await listenerPid(inner)}/ns/pid`, { bigint: true }).ino;
    await waitFor(
      `agent to instrument pids ${innerPid} and ${nestedPid} (stderr: ${ns.stderr().slice(-600)})`,
      () =>
        ns.stderr().includes(`msg="instrumenting process" pid=${innerPid} `) &&
        ns.stderr().includes(`msg="instrumenting process" pid=${nestedPid} `)
          ? true
          : undefined,
      20_000,
    );
    await waitFor("agent /readyz", async () =>
      (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200 ? true : undefined,
    );
  });

  after(async () => {
    // unshare waits for its child and ignores SIGTERM meanwhile; --kill-child passes SIGKILL to
    // the namespace's init (the agent), which takes the whole namespace with it
    ns?.proc.kill("SIGKILL");
    await stopAll();
  });

  it("translates ids: exact counts for both servers, by their pids in the agent's namespace", async () => {
    // the agent runs as the init of its namespace and sees its own /proc
    assert.match(
      ns.stderr(),
      new RegExp(
        `msg="eBPF programs attached" programs=\\d+ hooks="(sockets|syscalls)" pid_filter="namespace" pid_namespace=${agentNsIno} `,
      ),
    );
    const ready = ns
      .stderr()
      .match(
        new RegExp(
          `msg="agent ready" instrumented=\\d+ pid_filter="namespace" pid_namespace=${agentNsIno} pid_namespace_level=(\\S+)`,
        ),
      );
    assert.ok(ready, `agent ready line: ${ns.stderr()}`);
    assert.match(ready[1]!, /^[1-9]\d*$/, "the namespace level was learnt");

    // 23 requests on one keep-alive connection to the server in the agent's namespace
    const urls = Array.from({ length: 23 }, (_, i) => [
      `http://127.0.0.1:${inner}/users/${i}`,
      "-o",
      "/dev/null",
    ]).flat();
    await run("curl", ["-sf", ...urls]);
    // 17 requests, 3 at a time, to python (one thread per request) in the nested namespace
    await run("ab", ["-q", "-n", "17", "-c", "3", `http://127.0.0.1:${nested}/hello.txt`]);
    // 5 requests to the server the agent cannot see
    await run("ab", ["-q", "-n", "5", "-c", "1", `http://127.0.0.1:${outer}/users/1`]);

    await waitFor(
      "all requests counted",
      async () => {
        const s = await samples();
        return total(s, DURATION, { server_port: String(inner) }) >= 23 &&
          total(s, DURATION, { server_port: String(nested) }) >= 17 &&
          total(s, "beyla_ebpf_records_received_total") >= 40
          ? true
          : undefined;
      },
      15_000,
    );
    await new Promise((r) => setTimeout(r, 1200)); // a count that overshoots is seen too
    const s = await samples();
    assert.equal(total(s, DURATION, { server_port: String(inner) }), 23);
    assert.equal(
      total(s, DURATION, {
        server_port: String(inner),
        http_request_method: "GET",
        http_response_status_code: "200",
      }),
      23,
    );
    assert.equal(total(s, DURATION, { server_port: String(nested) }), 17);
    assert.equal(
      total(s, DURATION, { server_port: String(nested), http_response_status_code: "200" }),
      17,
    );
    assert.deepEqual(select(s, DURATION, { server_port: String(outer) }), []);
    assert.equal(total(s, "beyla_ebpf_records_received_total"), 40);
    assert.equal(total(s, "beyla_requests_discarded_total", { reason: "unknown_process" }), 0);
    assert.equal(total(s, "beyla_instrumented_processes"), 2);

    // every record carried the pid the agent's /proc gives the server
    const lines = ns.stdout().split("\n");
    assert.equal(lines.filter((l) => l.endsWith(` pid=${innerPid} kind=server`)).length, 23);
    assert.equal(lines.filter((l) => l.endsWith(` pid=${nestedPid} kind=server`)).length, 17);
    assert.equal(lines.filter((l) => l.includes(" kind=")).length, 40);
    assert.equal(ns.stderr().includes(`pid=${hostServer.pid} `), false);
  });
});
