import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { makeSelectorSet, type ApplyAnswer, type SelectorSetResource } from "@beyla-ts/shared";
import type { AgentPod } from "./agents.js";
import { silentLog } from "./logger.js";
import { Pusher } from "./pusher.js";
import { makeCa, makeLeaf } from "./testing/certs.js";
import { FakeAgent } from "./testing/fake-agent.js";
import { RecordingLog } from "./testing/recording-log.js";

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

describe("Pusher with a rotating agent CA bundle", () => {
  const dir = mkdtempSync(join(tmpdir(), "beyla-pusher-ca-"));
  const tokenFile = join(dir, "token");
  const caFile = join(dir, "ca.crt");
  const agent = new FakeAgent();
  const log = new RecordingLog();
  let pod: AgentPod;
  let pusher: Pusher;
  let oldCa: string;
  let newCa: string;

  before(async () => {
    writeFileSync(tokenFile, "op-token\n");
    oldCa = makeCa(dir, "old-ca").cert;
    const ca = makeCa(dir, "new-ca");
    newCa = ca.cert;
    // The agents already serve certificates of the new CA; the operator trusts the old one.
    const leaf = makeLeaf(dir, "agent", ca);
    copyFileSync(oldCa, caFile);
    const port = await agent.listen({ cert: readFileSync(leaf.cert), key: readFileSync(leaf.key) });
    pod = { key: "beyla/a", node: "n1", ip: "127.0.0.1", port, ready: true };
    pusher = new Pusher({
      tokenFile,
      caFile,
      caReloadMs: 0,
      log,
      retry: { baseMs: 20, maxMs: 20, jitter: 0 },
      onChange: () => undefined,
      onConflict: () => undefined,
    });
  });
  after(() => {
    pusher.stop();
    agent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("verifies agents with the CA bundle on disk at each push, old one kept for a bad file", async () => {
    pusher.setTarget(makeSelectorSet(1, [web]));
    pusher.upsert(pod);
    await until("a verification failure", () => pusher.agents()[0]?.error !== undefined);
    assert.match(pusher.agents()[0]?.error ?? "", /push of version 1 to n1 failed: .*certificate/);
    assert.equal(agent.received.length, 0);

    // Rotated on disk: the next (retried) push trusts the new CA.
    copyFileSync(newCa, caFile);
    await until("a verified push", () => pusher.agents()[0]?.answer?.appliedVersion === 1);
    assert.equal(pusher.agents()[0]?.error, undefined);
    assert.equal(log.messages("info").filter((m) => m === "agent CA bundle reloaded").length, 1);

    // A partial file: the new CA stays in force, pushes still verify, one warning.
    const pem = readFileSync(newCa, "utf8");
    writeFileSync(caFile, pem.slice(0, 100));
    pusher.setTarget(makeSelectorSet(2, [web]));
    await until("the push of version 2", () => pusher.agents()[0]?.answer?.appliedVersion === 2);
    const refusals = log.lines.filter((l) => l.msg.startsWith("cannot use"));
    assert.deepEqual(
      refusals.map((l) => [l.level, l.msg]),
      [["warn", "cannot use the new agent CA bundle; keeping the previous one"]],
    );
    assert.match(String(refusals[0]?.fields["error"]), /truncated/);
  });

  it("fails pushes, saying why, while no CA bundle was ever usable", async () => {
    const fresh = new Pusher({
      tokenFile,
      caFile: join(dir, "missing.crt"),
      log: new RecordingLog(),
      retry: { baseMs: 1000, maxMs: 1000, jitter: 0 },
      onChange: () => undefined,
      onConflict: () => undefined,
    });
    fresh.setTarget(makeSelectorSet(1, [web]));
    fresh.upsert(pod);
    await until("the failure", () => fresh.agents()[0]?.error !== undefined);
    fresh.stop();
    assert.match(
      fresh.agents()[0]?.error ?? "",
      /failed: no usable CA bundle in .*missing\.crt: ENOENT/,
    );
  });
});
