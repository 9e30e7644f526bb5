import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatAddress, formatIPv6, hostWithoutPort } from "./addresses.js";

const v6 = (hex: string) => new Uint8Array(Buffer.from(hex.replace(/:/g, ""), "hex"));

describe("formatAddress", () => {
  it("formats IPv4 from the first four bytes", () => {
    const b = new Uint8Array(16);
    b.set([127, 0, 0, 1]);
    assert.equal(formatAddress(2, b), "127.0.0.1");
  });
  it("shows a v4-mapped IPv6 address as IPv4", () => {
    assert.equal(formatAddress(10, v6("0000:0000:0000:0000:0000:ffff:0a00:0001")), "10.0.0.1");
  });
  const cases: [string, string][] = [
    ["0000:0000:0000:0000:0000:0000:0000:0001", "::1"],
    ["0000:0000:0000:0000:0000:0000:0000:0000", "::"],
    ["2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"],
    ["2001:0db8:0001:0002:0003:0004:0005:0006", "2001:db8:1:2:3:4:5:6"],
    ["2001:0db8:0000:0001:0001:0001:0001:0001", "2001:db8:0:1:1:1:1:1"],
    ["fe80:0000:0000:0000:0000:0000:0000:0000", "fe80::"],
  ];
  for (const [input, expected] of cases) {
    it(`formats ${expected} per RFC 5952`, () => assert.equal(formatIPv6(v6(input)), expected));
  }
});

describe("hostWithoutPort", () => {
  const cases: [string, string][] = [
    ["example.com:8080", "example.com"],
    ["example.com", "example.com"],
    ["[::1]:80", "::1"],
    ["::1", "::1"],
    ["", ""],
  ];
  for (const [input, expected] of cases) {
    it(`takes the host of ${JSON.stringify(input)}`, () =>
      assert.equal(hostWithoutPort(input), expected));
  }
});
