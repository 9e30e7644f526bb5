import { ConfigError, type ConfigSource } from "./config-error.js";

/** What the reference agent (Go's time.ParseDuration) accepts, minus negative values. */
export const DURATION_ALLOWED =
  'a duration such as "500ms", "10s", "5m" or "1h30m" (units ns, us, ms, s, m, h)';

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go-style duration ("300ms", "1.5h", "2h45m") into milliseconds. "0" alone is
 * accepted, as in Go. Throws a ConfigError naming `field` (a YAML path or, with
 * source "env", a variable name) when the text is not a duration.
 */
export function parseDuration(
  text: string,
  field = "duration",
  source: ConfigSource = "yaml",
): number {
  function fail(): never {
    throw new ConfigError(field, text, DURATION_ALLOWED, { source });
  }
  const s = text.trim();
  if (s === "0") return 0;
  if (s === "") fail();
  let total = 0;
  let i = 0;
  while (i < s.length) {
    const numberStart = i;
    while (i < s.length && isDigitOrDot(s.charCodeAt(i))) i++;
    const digits = s.slice(numberStart, i);
    // A number is digits with at most one dot and at least one digit.
    if (digits === "" || digits === "." || digits.indexOf(".") !== digits.lastIndexOf(".")) fail();
    const unitStart = i;
    while (i < s.length && !isDigitOrDot(s.charCodeAt(i))) i++;
    const factor = UNIT_MS[s.slice(unitStart, i)];
    if (factor === undefined) fail();
    total += Number(digits) * factor;
  }
  if (!Number.isFinite(total)) fail();
  return total;
}

function isDigitOrDot(code: number): boolean {
  return (code >= 48 && code <= 57) || code === 46;
}
