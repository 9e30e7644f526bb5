import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseListeningSockets } from "./proc-net.js";
import { parseEnviron, parseStat } from "./process-info.js";

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000     0        0 23456 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 34567 1 0000000000000000 100 0 0 10 0
   garbage line
`;

describe("parseListeningSockets", () => {
  it("keeps listening sockets only, by inode", () => {
    const m = new Map<string, number>();
    parseListeningSockets(TCP, m);
    assert.deepEqual(
      [...m.entries()],
      [
        ["12345", 8080],
        ["34567", 22],
      ],
    );
  });
  it("reads the port of an IPv6 line", () => {
    const m = new Map<string, number>();
    parseListeningSockets(
      "header\n   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1\n",
      m,
    );
    assert.deepEqual([...m.entries()], [["777", 8080]]);
  });
});

describe("parseStat", () => {
  it("reads field 22 even when the command name holds spaces and parens", () => {
    const stat =
      "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
    assert.deepEqual(parseStat(stat), { startTicks: 987654, kernelThread: false });
  });

  it("tells a kernel thread by PF_KTHREAD in the flags (field 9)", () => {
    const stat = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 11 0 0";
    assert.deepEqual(parseStat(stat), { startTicks: 11, kernelThread: true });
  });
});

describe("parseEnviron", () => {
  it("keeps only the requested keys", () => {
    const raw = "PATH=/bin\0OTEL_SERVICE_NAME=checkout\0OTEL_RESOURCE_ATTRIBUTES=a=b\0junk\0";
    assert.deepEqual(parseEnviron(raw), {
      OTEL_SERVICE_NAME: "checkout",
      OTEL_RESOURCE_ATTRIBUTES: "a=b",
    });
  });
});
