import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeSelectorSet, type ApplyAnswer, type SelectorSetResource } from "@beyla-ts/shared";
import type { AgentPod } from "./agents.js";
import { silentLog } from "./logger.js";
import { Pusher } from "./pusher.js";
import { FakeAgent } from "./testing/fake-agent.js";

const web: SelectorSetResource = {
  namespace: "shop",
  name: "web",
  uid: "u",
  generation: 1,
  clusterWide: false,
  spec: {},
};

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("Pusher", () => {
  const dir = mkdtempSync(join(tmpdir(), "beyla-pusher-"));
  const tokenFile = join(dir, "token");
  const agent = new FakeAgent();
  let pod: AgentPod;
  const conflicts: ApplyAnswer[] = [];
  let changes = 0;
  let pusher: Pusher;

  before(async () => {
    writeFileSync(tokenFile, "op-token\n");
    const port = await agent.listen();
    pod = { key: "beyla/a", node: "n1", ip: "127.0.0.1", port, ready: false };
    pusher = new Pusher({
      tokenFile,
      scheme: "http",
      log: silentLog,
      retry: { baseMs: 10, maxMs: 10, jitter: 0 },
      onChange: () => changes++,
      onConflict: (_a, answer) => conflicts.push(answer),
    });
  });
  after(() => {
    pusher.stop();
    agent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("waits for the agent to be ready, then pushes with the token", async () => {
    pusher.setTarget(makeSelectorSet(1, [web]));
    pusher.upsert(pod);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(agent.received.length, 0);
    agent.processes = { web: 4 };
    pusher.upsert({ ...pod, ready: true });
    await until("the push", () => pusher.agents()[0]?.answer?.appliedVersion === 1);
    assert.equal(agent.received[0]?.token, "Bearer op-token");
    assert.deepEqual(pusher.agents()[0]?.answer?.selected, [
      { namespace: "shop", name: "web", processes: 4 },
    ]);
  });

  it("does not push again what the agent holds, unless resyncing", async () => {
    const before = agent.received.length;
    pusher.setTarget(makeSelectorSet(1, [web]));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(agent.received.length, before);
    pusher.resync();
    await until("the resync push", () => agent.received.length === before + 1);
  });

  it("retries a failed push with backoff and records the failure meanwhile", async () => {
    agent.failWith = 500;
    pusher.setTarget(makeSelectorSet(2, []));
    await until("a recorded failure", () => pusher.agents()[0]?.error !== undefined);
    assert.match(
      pusher.agents()[0]?.error ?? "",
      /push of version 2 to n1 failed: agent answered 500/,
    );
    agent.failWith = undefined;
    await until("the retried push", () => pusher.agents()[0]?.answer?.appliedVersion === 2);
    assert.equal(pusher.agents()[0]?.error, undefined);
  });

  it("reports a 409 with the version the agent holds", async () => {
    agent.version = 9;
    agent.hash = "sha256:other";
    pusher.setTarget(makeSelectorSet(3, [web]));
    await until("the conflict", () => conflicts.length === 1);
    assert.equal(conflicts[0]?.appliedVersion, 9);
    assert.ok(changes > 0);
  });

  it("forgets a removed agent", () => {
    pusher.remove("beyla/a");
    assert.deepEqual(pusher.agents(), []);
  });
});
