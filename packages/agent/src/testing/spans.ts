/**
 * RequestSpan fixtures for tests.
 */
import type { RequestSpan, ServiceIdentity } from "../request-span.js";

export function testService(overrides: Partial<ServiceIdentity> = {}): ServiceIdentity {
  return {
    name: "nginx",
    namespace: "",
    instanceId: "node1-1234",
    pid: 1234,
    exePath: "/usr/sbin/nginx",
    attributes: { "host.name": "node1" },
    ...overrides,
  };
}

/** 2026-11-23T10:00:00.123Z in nanoseconds. */
export const T0_NANOS = 1_795_428_000_123_000_000n;

/**
 * A GET /users/123 server span on 127.0.0.1:8080 from 127.0.0.1:41234, 200, 1.2 ms,
 * request body 0 bytes, response body 512 bytes; fields overridable.
 */
export function testSpan(overrides: Partial<RequestSpan> = {}): RequestSpan {
  const start = overrides.startUnixNano ?? T0_NANOS;
  return {
    kind: "server",
    method: "GET",
    path: "/users/123",
    route: "/users/*",
    statusCode: 200,
    startUnixNano: start,
    endUnixNano: start + 1_200_000n,
    requestBodySize: 0,
    responseBodySize: 512,
    localAddress: "127.0.0.1",
    localPort: 8080,
    peerAddress: "127.0.0.1",
    peerPort: 41234,
    serverAddress: "127.0.0.1",
    serverPort: 8080,
    host: "",
    service: testService(),
    ignore: "none",
    ...overrides,
  };
}

/** A client span: GET /api/items from 10.0.0.5:50000 to 10.0.0.9:80 (Host items.internal). */
export function testClientSpan(overrides: Partial<RequestSpan> = {}): RequestSpan {
  return testSpan({
    kind: "client",
    path: "/api/items",
    route: "/api/items",
    localAddress: "10.0.0.5",
    localPort: 50000,
    peerAddress: "10.0.0.9",
    peerPort: 80,
    serverAddress: "10.0.0.9",
    serverPort: 80,
    host: "items.internal",
    ...overrides,
  });
}
