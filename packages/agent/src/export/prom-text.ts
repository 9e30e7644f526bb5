/**
 * Prometheus text exposition helpers, with prom-client's exact escaping and number format.
 */

/** HELP text and metric names: backslash and newline escaped. */
export function escapeText(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function escapeLabelValue(value: string): string {
  return escapeText(value).replace(/"/g, '\\"');
}

/** `a="x",b="y"` in the key order of `labels`. */
export function formatLabels(labels: Readonly<Record<string, string | number>>): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    parts.push(`${name}="${typeof value === "string" ? escapeLabelValue(value) : value}"`);
  }
  return parts.join(",");
}

/** A sample value as prom-client writes it. */
export function valueText(value: number): string {
  if (Number.isNaN(value)) return "Nan";
  if (!Number.isFinite(value)) return value < 0 ? "-Inf" : "+Inf";
  return `${value}`;
}
