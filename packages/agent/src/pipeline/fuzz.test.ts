import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { emptyHttpEvent } from "@beyla-ts/ebpf-native/dist/event-layout.generated.js";
import { MonotonicClock } from "./clock.js";
import { recordToSpan } from "./record-to-span.js";
import { parseRequestHead } from "./request-head.js";
import type { ServiceIdentity } from "../request-span.js";

/** A small deterministic generator, so a failure can be replayed from its seed. */
function xorshift(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const SERVICE: ServiceIdentity = {
  name: "svc",
  namespace: "",
  instanceId: "h-1",
  pid: 1,
  exePath: "/bin/svc",
  attributes: {},
};

/** Random bytes, sometimes starting like a request so the parser goes deeper. */
function randomHead(rand: () => number, out: Uint8Array): number {
  const prefixes = [
    "GET /",
    "POST ",
    "HEAD /a?",
    "PUT http://",
    "DELETE ",
    "OPTIONS * HTTP/1.1\r\nHost:",
  ];
  let n = 0;
  if (rand() < 0.7) {
    const p = prefixes[Math.floor(rand() * prefixes.length)]!;
    for (; n < p.length; n++) out[n] = p.charCodeAt(n);
  }
  const len = Math.floor(rand() * out.length);
  for (; n < len; n++)
    out[n] =
      rand() < 0.2
        ? [13, 10, 32, 58, 63, 35, 47][Math.floor(rand() * 7)]!
        : Math.floor(rand() * 256);
  return Math.max(n, 0);
}

describe("parsers under random input", () => {
  it("never throw and keep their invariants over 20,000 random request heads", () => {
    const rand = xorshift(20261123);
    const clock = new MonotonicClock();
    const record = emptyHttpEvent();
    record.requestHead = new Uint8Array(256);
    for (let i = 0; i < 20_000; i++) {
      record.requestHeadLen = randomHead(rand, record.requestHead);
      record.family = rand() < 0.5 ? 2 : 10;
      record.requestBytes = BigInt(Math.floor(rand() * 1000));
      record.requestHeaderLen = Math.floor(rand() * 1200);
      record.responseBytes = BigInt(Math.floor(rand() * 1000));
      record.responseHeaderLen = Math.floor(rand() * 1200);
      const head = parseRequestHead(record.requestHead, record.requestHeadLen);
      const span = recordToSpan(record, SERVICE, clock);
      assert.equal(span === undefined, head === undefined, `seed step ${i}`);
      if (span) {
        assert.ok(!span.path.includes("?") && !span.path.includes("#"), span.path);
        assert.ok(span.requestBodySize >= -1 && span.responseBodySize >= -1);
      }
    }
  });
});
