/**
 * Values derived from a RequestSpan that every sink needs the same way.
 */
import type { RequestSpan } from "../request-span.js";

const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "CONNECT",
  "DELETE",
  "GET",
  "HEAD",
  "OPTIONS",
  "PATCH",
  "POST",
  "PUT",
  "TRACE",
  "QUERY",
]);

/** The value for http.request.method reported by metrics and spans. */
export const OTHER_METHOD = "_OTHER";

/**
 * http.request.method as the semantic conventions want it: one of the known methods,
 * else "_OTHER" — so a garbled or invented method cannot blow up metric cardinality.
 */
export function normalizeMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : OTHER_METHOD;
}

/** Request duration in seconds (0 when the clock went backwards). */
export function durationSeconds(span: RequestSpan): number {
  const ns = span.endUnixNano - span.startUnixNano;
  return ns > 0n ? Number(ns) / 1e9 : 0;
}

/** Request duration in nanoseconds, never negative. */
export function durationNanos(span: RequestSpan): bigint {
  const ns = span.endUnixNano - span.startUnixNano;
  return ns > 0n ? ns : 0n;
}

/**
 * Whether the span failed, as the HTTP semantic conventions define it: 5xx for servers,
 * 4xx and 5xx for clients. A status of 0 (no response seen) is not marked as an error.
 */
export function isErrorStatus(span: RequestSpan): boolean {
  if (span.kind === "server") return span.statusCode >= 500;
  return span.statusCode >= 400;
}
