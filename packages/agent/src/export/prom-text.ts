/**
 * Prometheus text exposition of prom-client histograms, rendered in chunks so a scrape of
 * tens of thousands of series never blocks the event loop for long.
 *
 * prom-client renders a whole histogram in one synchronous pass (hundreds of milliseconds
 * for 10,000 series). Here each series is read from the histogram's own storage and the
 * text is produced a few hundred series at a time, yielding to the event loop in between.
 * The output is byte-for-byte what `Registry.metrics()` produces (a test checks it), and if
 * prom-client's storage ever changes shape, rendering falls back to prom-client itself.
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { Histogram, Registry } from "prom-client";

/** One label set of a prom-client histogram, as prom-client 15 stores it. */
interface HistogramEntry {
  labels: Record<string, string | number>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

interface HistogramStorage {
  hashMap: Record<string, HistogramEntry>;
  upperBounds: readonly number[];
}

function storageOf(histogram: Histogram<string>): HistogramStorage | undefined {
  const candidate = histogram as unknown as Partial<HistogramStorage>;
  if (
    typeof candidate.hashMap === "object" &&
    candidate.hashMap !== null &&
    Array.isArray(candidate.upperBounds)
  ) {
    return candidate as HistogramStorage;
  }
  return undefined;
}

function escapeText(value: string): string {
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

function valueText(value: number): string {
  if (Number.isNaN(value)) return "Nan";
  if (!Number.isFinite(value)) return value < 0 ? "-Inf" : "+Inf";
  return `${value}`;
}

/** A histogram family registered in a registry, with the cache of its label strings. */
export interface HistogramFamily {
  readonly name: string;
  readonly help: string;
  readonly histogram: Histogram<string>;
  /** Formatted label strings by label object, filled when a series is created. */
  readonly labelText: WeakMap<object, string>;
}

function renderSeries(
  out: string[],
  name: string,
  bounds: readonly number[],
  entry: HistogramEntry,
  labels: string,
): void {
  const sep = labels === "" ? "" : ",";
  let acc = 0;
  for (const bound of bounds) {
    acc += entry.bucketValues[bound] ?? 0;
    out.push(`${name}_bucket{le="${bound}"${sep}${labels}} ${acc}`);
  }
  out.push(`${name}_bucket{le="+Inf"${sep}${labels}} ${entry.count}`);
  const braced = labels === "" ? "" : `{${labels}}`;
  out.push(`${name}_sum${braced} ${valueText(entry.sum)}`);
  out.push(`${name}_count${braced} ${entry.count}`);
}

/**
 * The text of one histogram family: the HELP/TYPE header, then its series, in chunks of
 * `seriesPerChunk` series. Every chunk but the header starts with "\n"; nothing ends with one.
 */
export async function* histogramFamilyText(
  family: HistogramFamily,
  registry: Registry,
  seriesPerChunk: number,
): AsyncGenerator<string> {
  const storage = storageOf(family.histogram);
  if (storage === undefined) {
    yield await registry.getSingleMetricAsString(family.name);
    return;
  }
  const name = escapeText(family.name);
  yield `# HELP ${name} ${escapeText(family.help)}\n# TYPE ${name} histogram`;
  const entries = Object.values(storage.hashMap);
  for (let start = 0; start < entries.length; start += seriesPerChunk) {
    const lines: string[] = [""];
    const end = Math.min(entries.length, start + seriesPerChunk);
    for (let i = start; i < end; i++) {
      const entry = entries[i] as HistogramEntry;
      const labels = family.labelText.get(entry.labels) ?? formatLabels(entry.labels);
      renderSeries(lines, name, storage.upperBounds, entry, labels);
    }
    yield lines.join("\n");
    if (end < entries.length) await yieldToLoop();
  }
}
