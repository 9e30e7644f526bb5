/**
 * The application histograms' own storage: one small object per label set, its bucket
 * counts in a Float64Array and its label text formatted once, when the series appears.
 *
 * prom-client keeps, per label set, a labels object and a bucket map keyed by bound strings:
 * about 3 KB each, and the labels are formatted again at every scrape. With three histograms
 * per route, 10,000 routes cost ~90 MB that way. Here a series is a few hundred bytes, and a
 * scrape only concatenates. The text is exactly what prom-client renders for the same
 * observations (compact-histogram.test.ts checks it); prom-client still serves the agent's
 * own metrics and target_info.
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { escapeText, valueText } from "./prom-text.js";

/** One label set of one histogram. */
export class HistogramSeries {
  /** Observations per bucket (not cumulative); the +Inf bucket is `count`. */
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly family: HistogramFamilyStore,
    /** `a="x",b="y"`, escaped; "" for no labels. */
    readonly labelText: string,
  ) {
    this.buckets = new Float64Array(family.bounds.length);
  }

  /** Adds one value; throws on a value that is not a finite number, as prom-client does. */
  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`value is not a finite number: ${value}`);
    const bounds = this.family.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.buckets[i]! += 1;
        break;
      }
    }
    this.sum += value;
    this.count += 1;
  }
}

/** A histogram family: its name, help, bucket bounds and live series. */
export class HistogramFamilyStore {
  readonly #series = new Set<HistogramSeries>();
  readonly bounds: readonly number[];

  constructor(
    readonly name: string,
    readonly help: string,
    bounds: readonly number[],
  ) {
    this.bounds = [...bounds].sort((a, b) => a - b);
  }

  get size(): number {
    return this.#series.size;
  }

  /** A new series with this (already formatted) label text. */
  add(labelText: string): HistogramSeries {
    const series = new HistogramSeries(this, labelText);
    this.#series.add(series);
    return series;
  }

  remove(series: HistogramSeries): void {
    this.#series.delete(series);
  }

  /**
   * The family's Prometheus text: HELP/TYPE, then the series in creation order, in chunks of
   * `seriesPerChunk` series with a turn of the event loop in between. Every chunk but the
   * header starts with "\n"; nothing ends with one (prom-client's layout).
   */
  async *text(seriesPerChunk: number): AsyncGenerator<string> {
    const name = escapeText(this.name);
    yield `# HELP ${name} ${escapeText(this.help)}\n# TYPE ${name} histogram`;
    const leTexts = this.bounds.map((b) => `${name}_bucket{le="${b}"`);
    const all = [...this.#series];
    for (let start = 0; start < all.length; start += seriesPerChunk) {
      const end = Math.min(all.length, start + seriesPerChunk);
      let chunk = "";
      for (let i = start; i < end; i++) chunk += seriesText(name, leTexts, all[i]!);
      yield chunk;
      if (end < all.length) await yieldToLoop();
    }
  }
}

function seriesText(name: string, leTexts: readonly string[], s: HistogramSeries): string {
  const labels = s.labelText;
  const sep = labels === "" ? "" : ",";
  let out = "";
  let acc = 0;
  for (let i = 0; i < leTexts.length; i++) {
    acc += s.buckets[i]!;
    out += `\n${leTexts[i]}${sep}${labels}} ${acc}`;
  }
  out += `\n${name}_bucket{le="+Inf"${sep}${labels}} ${s.count}`;
  const braced = labels === "" ? "" : `{${labels}}`;
  return `${out}\n${name}_sum${braced} ${valueText(s.sum)}\n${name}_count${braced} ${s.count}`;
}
