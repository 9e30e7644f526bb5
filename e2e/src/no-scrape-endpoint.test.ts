/**
 * An agent without a scrape endpoint (trace printer only, or OTLP only) keeps running until it
 * is told to stop: nothing else holds its event loop (it used to exit 0 right after starting).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { AGENT_CLI } from "./helpers/agent.js";
import { freePort, run, start, stopAll, waitFor } from "./helpers/processes.js";
import { startNodeServer } from "./helpers/servers.js";

describe("an agent without a scrape endpoint", () => {
  after(() => stopAll());

  it("keeps running and printing spans until SIGTERM, then exits 0", async () => {
    const port = await freePort();
    const server = await startNodeServer(port);
    const agent = start(process.execPath, [AGENT_CLI], {
      env: {
        PATH: process.env["PATH"] ?? "/usr/bin:/bin",
        BEYLA_OPEN_PORT: String(port),
        BEYLA_TRACE_PRINTER: "text",
      },
    });
    await waitFor(
      "the agent to instrument the server",
      () => {
        if (agent.proc.exitCode !== null) {
          throw new Error(`agent exited ${agent.proc.exitCode}: ${agent.stderr()}`);
        }
        return agent.stderr().includes(`msg="instrumenting process" pid=${server.pid} `);
      },
      20_000,
    );
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(agent.proc.exitCode, null, "still running 2 s after it started");
    await run("ab", ["-q", "-n", "3", `http://127.0.0.1:${port}/users/1`]);
    const printed = () =>
      agent
        .stdout()
        .split("\n")
        .filter((l) => l.includes(" GET 200 /users/1 "));
    await waitFor("3 printed spans", () => printed().length >= 3);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(printed().length, 3);
    const exited = new Promise<number | null>((r) => agent.proc.once("exit", (code) => r(code)));
    agent.proc.kill("SIGTERM");
    assert.equal(await exited, 0);
  });
});
