import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRequestHead, pathOf } from "./request-head.js";

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const parse = (s: string) => parseRequestHead(bytes(s), s.length);

describe("parseRequestHead", () => {
  const cases: [string, string, ReturnType<typeof parse>][] = [
    [
      "a GET with Host",
      "GET /users/1?x=2 HTTP/1.1\r\nHost: api.local:8080\r\n\r\n",
      { method: "GET", path: "/users/1", host: "api.local:8080" },
    ],
    [
      "a POST without headers",
      "POST /echo HTTP/1.1\r\n",
      { method: "POST", path: "/echo", host: "" },
    ],
    [
      "an absolute-form target (proxy request)",
      "GET http://example.com/a/b?q HTTP/1.1\r\n\r\n",
      { method: "GET", path: "/a/b", host: "" },
    ],
    [
      "a lowercase host header",
      "GET / HTTP/1.1\r\nhost: h\r\n\r\n",
      { method: "GET", path: "/", host: "h" },
    ],
    [
      "a Host value cut by the capture limit",
      "GET / HTTP/1.1\r\nHost: trunc",
      { method: "GET", path: "/", host: "" },
    ],
    ["a fragment", "GET /a#frag HTTP/1.1\r\n", { method: "GET", path: "/a", host: "" }],
    ["an unknown method", "FOO / HTTP/1.1\r\n", undefined],
    ["binary garbage", "\u0000\u0001\u0002\u0003", undefined],
    ["an empty target", "GET  HTTP/1.1", undefined],
    ["nothing", "", undefined],
  ];
  for (const [name, input, expected] of cases) {
    it(`parses ${name}`, () => assert.deepEqual(parse(input), expected));
  }

  it("uses only `length` bytes of the buffer", () => {
    const b = bytes("GET /abc HTTP/1.1\r\n");
    assert.deepEqual(parseRequestHead(b, 7), { method: "GET", path: "/ab", host: "" });
  });

  it("keeps an absolute target without path as /", () => {
    assert.equal(pathOf("http://example.com"), "/");
  });
});
