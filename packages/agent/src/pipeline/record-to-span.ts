import { BEYLA_ROLE_SERVER, type HttpEventRecord } from "@beyla-ts/ebpf-native";
import type { RequestSpan, ServiceIdentity } from "../request-span.js";
import { formatAddress, hostWithoutPort } from "./addresses.js";
import type { MonotonicClock } from "./clock.js";
import { parseRequestHead } from "./request-head.js";

/** Body size from total bytes and header length; -1 when the header end was not seen. */
function bodySize(total: bigint, headerLength: number): number {
  if (headerLength === 0 || total < BigInt(headerLength)) return -1;
  return Number(total - BigInt(headerLength));
}

/**
 * Turns a kernel record into a span (route and ignore are filled later by the pipeline).
 * Returns undefined when the captured bytes are not a valid request line.
 */
export function recordToSpan(
  r: HttpEventRecord,
  service: ServiceIdentity,
  clock: MonotonicClock,
): RequestSpan | undefined {
  const head = parseRequestHead(r.requestHead, r.requestHeadLen);
  if (!head) return undefined;
  const server = r.role === BEYLA_ROLE_SERVER;
  const localAddress = formatAddress(r.family, r.localAddr);
  const peerAddress = formatAddress(r.family, r.remoteAddr);
  const hostName = hostWithoutPort(head.host);
  return {
    kind: server ? "server" : "client",
    method: head.method,
    path: head.path,
    route: undefined,
    statusCode: r.status,
    startUnixNano: clock.toUnixNano(r.startNs),
    endUnixNano: clock.toUnixNano(r.endNs),
    requestBodySize: bodySize(r.requestBytes, r.requestHeaderLen),
    responseBodySize: bodySize(r.responseBytes, r.responseHeaderLen),
    localAddress,
    localPort: r.localPort,
    peerAddress,
    peerPort: r.remotePort,
    serverAddress: hostName !== "" ? hostName : server ? localAddress : peerAddress,
    serverPort: server ? r.localPort : r.remotePort,
    host: head.host,
    service,
    ignore: "none",
  };
}
