/**
 * The part of a request target that routes are made from: no query string, no fragment, and
 * for an absolute-form target (`GET http://host/a HTTP/1.1`, sent to proxies) only the path.
 * Returns `target` itself when there is nothing to cut, so the common case allocates nothing.
 */
export function pathOf(target: string): string {
  let end = target.length;
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) {
      end = i;
      break;
    }
  }
  let start = 0;
  if (target.charCodeAt(0) !== 47 /* / */) {
    const scheme = target.indexOf("://");
    if (scheme >= 0 && scheme < end) {
      const slash = target.indexOf("/", scheme + 3);
      if (slash < 0 || slash >= end) return "/";
      start = slash;
    }
  }
  return start === 0 && end === target.length ? target : target.slice(start, end);
}
