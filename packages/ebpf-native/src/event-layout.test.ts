import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeHttpEvent, emptyHttpEvent, HTTP_EVENT_SIZE } from "./event-layout.generated.js";
import { nativeModule } from "./native-binding.js";

describe("generated record layout", () => {
  it("has the size the C compiler gives struct beyla_http_event", () => {
    assert.equal(HTTP_EVENT_SIZE, nativeModule().maxRecordBytes);
  });

  it("decodes every field at its C offset, little-endian", () => {
    const buf = new Uint8Array(8 + HTTP_EVENT_SIZE);
    const v = new DataView(buf.buffer);
    const at = 8; // records are not at offset 0 in a drained batch
    v.setUint8(at + 0, 1);
    v.setUint8(at + 1, 2);
    v.setUint8(at + 2, 10);
    v.setUint8(at + 3, 4);
    v.setUint16(at + 4, 503, true);
    v.setUint16(at + 6, 8080, true);
    v.setUint16(at + 8, 51234, true);
    v.setUint16(at + 10, 3, true);
    v.setUint32(at + 12, 4242, true);
    v.setUint32(at + 16, 4243, true);
    v.setUint32(at + 20, 77, true);
    v.setUint32(at + 24, 88, true);
    v.setBigUint64(at + 32, 1_000_000_001n, true);
    v.setBigUint64(at + 40, 2_000_000_002n, true);
    v.setBigUint64(at + 48, 12345n, true);
    v.setBigUint64(at + 56, 2n ** 40n, true);
    buf[at + 64] = 127;
    buf[at + 80 + 15] = 1;
    buf.set([71, 69, 84], at + 96);
    const r = decodeHttpEvent(v, at, emptyHttpEvent());
    assert.deepEqual(
      {
        type: r.type,
        role: r.role,
        family: r.family,
        flags: r.flags,
        status: r.status,
        localPort: r.localPort,
        remotePort: r.remotePort,
        requestHeadLen: r.requestHeadLen,
        pid: r.pid,
        tid: r.tid,
        requestHeaderLen: r.requestHeaderLen,
        responseHeaderLen: r.responseHeaderLen,
        startNs: r.startNs,
        endNs: r.endNs,
        requestBytes: r.requestBytes,
        responseBytes: r.responseBytes,
      },
      {
        type: 1,
        role: 2,
        family: 10,
        flags: 4,
        status: 503,
        localPort: 8080,
        remotePort: 51234,
        requestHeadLen: 3,
        pid: 4242,
        tid: 4243,
        requestHeaderLen: 77,
        responseHeaderLen: 88,
        startNs: 1_000_000_001n,
        endNs: 2_000_000_002n,
        requestBytes: 12345n,
        responseBytes: 2n ** 40n,
      },
    );
    assert.equal(r.localAddr[0], 127);
    assert.equal(r.remoteAddr[15], 1);
    assert.equal(Buffer.from(r.requestHead.subarray(0, 3)).toString(), "GET");
    assert.equal(r.requestHead.length, 256);
  });
});
