/** What the agent reads from the first bytes of a captured request. */
export interface RequestHead {
  method: string;
  /** Path of the request target, without query string or fragment. */
  path: string;
  /** Host header value ("" when absent or beyond the captured bytes). */
  host: string;
}

const METHODS = new Set([
  "GET",
  "POST",
  "PUT",
  "DELETE",
  "HEAD",
  "PATCH",
  "OPTIONS",
  "CONNECT",
  "TRACE",
]);
const MAX_TARGET = 2048;

/**
 * Parses "METHOD target HTTP/1.x\r\nHeaders..." from `bytes` (possibly truncated).
 * Returns undefined for anything that is not a request line; never throws.
 */
export function parseRequestHead(bytes: Uint8Array, length: number): RequestHead | undefined {
  const text = latin1(bytes, length);
  const firstSpace = text.indexOf(" ");
  if (firstSpace <= 0) return undefined;
  const method = text.slice(0, firstSpace);
  if (!METHODS.has(method)) return undefined;
  let end = firstSpace + 1;
  while (end < text.length && text.charCodeAt(end) > 32 && end - firstSpace < MAX_TARGET) end++;
  const target = text.slice(firstSpace + 1, end);
  if (target.length === 0) return undefined;
  return { method, path: pathOf(target), host: hostHeader(text, end) };
}

/** The bytes as Latin-1 text, decoded natively (a char-by-char loop was the agent's top cost). */
function latin1(bytes: Uint8Array, length: number): string {
  const n = Math.min(length, bytes.length);
  return Buffer.from(bytes.buffer, bytes.byteOffset, n).toString("latin1");
}

/** The path of an origin-form ("/a?b") or absolute-form ("http://h/a") target. */
export function pathOf(target: string): string {
  let path = target;
  if (!path.startsWith("/")) {
    const scheme = path.indexOf("://");
    if (scheme > 0) {
      const slash = path.indexOf("/", scheme + 3);
      path = slash < 0 ? "/" : path.slice(slash);
    }
  }
  const cut = path.search(/[?#]/);
  return cut < 0 ? path : path.slice(0, cut);
}

function hostHeader(text: string, from: number): string {
  const at = hostLine(text, from);
  if (at < 0) return "";
  const end = text.indexOf("\r", at);
  if (end < 0) return ""; // value cut by the capture limit: better none than a wrong one
  return text.slice(at + 6, end).trim();
}

/** Where "\nHost:" starts (any case), without lower-casing the whole head; -1 when absent. */
function hostLine(text: string, from: number): number {
  for (let at = text.indexOf("\n", from); at >= 0; at = text.indexOf("\n", at + 1)) {
    if (
      (text.charCodeAt(at + 1) | 0x20) === 0x68 && // h
      (text.charCodeAt(at + 2) | 0x20) === 0x6f && // o
      (text.charCodeAt(at + 3) | 0x20) === 0x73 && // s
      (text.charCodeAt(at + 4) | 0x20) === 0x74 && // t
      text.charCodeAt(at + 5) === 0x3a // :
    ) {
      return at;
    }
  }
  return -1;
}
