import { ConfigError, type ConfigSource } from "./config-error.js";

export const HEADERS_ALLOWED =
  'comma-separated key=value pairs, values URL-encoded, e.g. "Authorization=Basic%20abc,X-Org=1"';

/**
 * Parses OTEL_EXPORTER_OTLP_HEADERS ("k=v,k2=v2", keys and values percent-decoded, spaces
 * around items trimmed, empty items skipped). Header values are often credentials, so errors
 * carry "(redacted)" instead of the text and name the offending item by position and key.
 */
export function parseOtlpHeaders(
  text: string,
  field: string,
  source: ConfigSource = "env",
): Record<string, string> {
  const out: Record<string, string> = {};
  const items = text.split(",");
  for (let i = 0; i < items.length; i++) {
    const item = items[i].trim();
    if (item === "") continue;
    const eq = item.indexOf("=");
    const fail = (problem: string): ConfigError =>
      new ConfigError(field, "(redacted)", HEADERS_ALLOWED, { source, problem });
    if (eq <= 0) throw fail(`item ${i + 1} is not a key=value pair`);
    const key = decode(item.slice(0, eq).trim());
    if (key === undefined || !isToken(key)) throw fail(`item ${i + 1} has an invalid key`);
    const value = decode(item.slice(eq + 1).trim());
    if (value === undefined) {
      throw fail(`item ${i + 1} (key ${JSON.stringify(key)}) has invalid percent-encoding`);
    }
    out[key] = value;
  }
  return out;
}

/** An HTTP header name (RFC 9110 token): no spaces, separators or control characters. */
function isToken(s: string): boolean {
  if (s === "") return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!alnum && !"!#$%&'*+-.^_`|~".includes(s[i])) return false;
  }
  return true;
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
