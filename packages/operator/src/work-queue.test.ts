import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentLog } from "./logger.js";
import { WorkQueue } from "./work-queue.js";

describe("WorkQueue", () => {
  it("handles keys one at a time and does not queue a waiting key twice", async () => {
    const seen: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const q = new WorkQueue({
      log: silentLog,
      handler: async (key) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 5));
        seen.push(key);
        running--;
      },
    });
    // a/x is being handled at once; a/y waits, so adding it again changes nothing.
    for (const k of ["a/x", "a/y", "a/z", "a/y", "a/z"]) q.add(k);
    await q.drained();
    assert.deepEqual(seen, ["a/x", "a/y", "a/z"]);
    assert.equal(maxRunning, 1);
  });

  it("handles a key again when it is added while being handled", async () => {
    const seen: string[] = [];
    const q: WorkQueue = new WorkQueue({
      log: silentLog,
      handler: async (key) => {
        seen.push(key);
        if (seen.length === 1) q.add(key);
      },
    });
    q.add("a/x");
    await q.drained();
    assert.deepEqual(seen, ["a/x", "a/x"]);
  });

  it("retries a failing key with backoff", async () => {
    let calls = 0;
    const q = new WorkQueue({
      log: silentLog,
      retry: { baseMs: 5, maxMs: 5, jitter: 0 },
      handler: async () => {
        calls++;
        if (calls < 3) throw new Error("conflict");
      },
    });
    q.add("a/x");
    const deadline = Date.now() + 2000;
    while (calls < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(calls, 3);
    q.stop();
  });

  it("bounds what waits and counts what it drops", async () => {
    let release: () => void = () => undefined;
    const q = new WorkQueue({
      log: silentLog,
      maxPending: 2,
      handler: () => new Promise<void>((r) => (release = r)),
    });
    for (const k of ["a", "b", "c", "d"]) q.add(k);
    assert.equal(q.length, 2);
    assert.equal(q.dropped, 1);
    q.stop();
    release();
  });
});
