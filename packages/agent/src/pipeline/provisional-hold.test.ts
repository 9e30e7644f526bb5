import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HttpEventRecord } from "@beyla-ts/ebpf-native";
import { ProvisionalHold } from "./provisional-hold.js";

function record(pid: number, head: string, buffer: Uint8Array): HttpEventRecord {
  buffer.set(Buffer.from(head));
  return {
    type: 1,
    role: 1,
    family: 2,
    flags: 1,
    status: 200,
    localPort: 80,
    remotePort: 5000,
    requestHeadLen: head.length,
    pid,
    tid: pid,
    requestHeaderLen: head.length,
    responseHeaderLen: 20,
    startNs: 1n,
    endNs: 2n,
    requestBytes: BigInt(head.length),
    responseBytes: 20n,
    localAddr: new Uint8Array(16),
    remoteAddr: new Uint8Array(16),
    requestHead: buffer.subarray(0, 256),
  };
}

const text = (r: HttpEventRecord) =>
  Buffer.from(r.requestHead.subarray(0, r.requestHeadLen)).toString();

describe("ProvisionalHold", () => {
  it("keeps copies of a listener's records and replays them once it is selected", () => {
    const hold = new ProvisionalHold();
    const drainBuffer = new Uint8Array(512);
    assert.equal(hold.hold(record(7, "GET /a", drainBuffer)), false, "7 is not waiting");
    hold.listened(7);
    assert.equal(hold.hold(record(7, "GET /b", drainBuffer)), true);
    assert.equal(hold.hold(record(7, "GET /c", drainBuffer)), true); // reuses the buffer
    assert.deepEqual(hold.decide(7, true).map(text), ["GET /b", "GET /c"]);
    assert.equal(hold.waiting(7), false);
    assert.equal(hold.hold(record(7, "GET /d", drainBuffer)), false);
    assert.equal(hold.rejected, 0);
  });

  it("drops and counts the records of a process that is not selected", () => {
    const hold = new ProvisionalHold();
    hold.listened(8);
    hold.hold(record(8, "GET /x", new Uint8Array(256)));
    assert.deepEqual(hold.decide(8, false), []);
    assert.equal(hold.rejected, 1);
  });

  it("is bounded in processes and records, and counts what does not fit", () => {
    const hold = new ProvisionalHold({ maxProcesses: 2, maxRecords: 3 });
    hold.listened(1);
    hold.listened(2);
    hold.listened(3); // over maxProcesses: not waited for
    assert.equal(hold.waiting(3), false);
    for (let i = 0; i < 5; i++) hold.hold(record(1, `GET /${i}`, new Uint8Array(256)));
    assert.equal(hold.overflow, 2);
    assert.equal(hold.decide(1, true).length, 3);
    hold.hold(record(2, "GET /again", new Uint8Array(256)));
    assert.equal(hold.decide(2, true).length, 1, "room again after a decision");
  });
});
