/**
 * The application histograms' own storage: one small object per label set, its bucket
 * counts in a small array and its label text formatted once, when the series appears.
 *
 * prom-client keeps, per label set, a labels object and a bucket map keyed by bound strings:
 * about 3 KB each, and the labels are formatted again at every scrape. With three histograms
 * per route, 10,000 routes cost ~90 MB that way. Here a series is a few hundred bytes.
 *
 * A scrape writes bytes, not strings: every fixed piece of a line (the `name_bucket{le="x"`
 * prefixes, the series' labels) is encoded once, and rendering copies them into 256 KiB
 * buffers with the numbers between. 10,000 routes are 444,557 lines and 120 MB of text;
 * building that as JavaScript strings took ~210 ms per scrape. The text is exactly what prom-client renders for the same
 * observations (compact-histogram.test.ts checks it); prom-client still serves the agent's
 * own metrics and target_info.
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { escapeText, valueText } from "./prom-text.js";

/** One label set of one histogram. */
export class HistogramSeries {
  /**
   * Observations per bucket (not cumulative); the +Inf bucket is `count`. A plain array of
   * small integers lives in the JS heap: a Float64Array per series would be one malloc'ed
   * backing store each (30,000 of them at 10,000 routes, ~25 MB more RSS).
   */
  readonly buckets: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly family: HistogramFamilyStore,
    /** `a="x",b="y"` escaped, UTF-8; empty for no labels. Shared by a route's histograms. */
    readonly labels: Buffer,
  ) {
    this.buckets = new Array<number>(family.bounds.length).fill(0);
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

const CHUNK_BYTES = 1 << 18;
/** Room for one number and the bytes around it ("} ", "{", "}", " "). */
const NUMBER_ROOM = 40;

/** The encoded fixed pieces of a family's lines. */
interface LinePieces {
  /** `\nname_bucket{le="b"` per bound, then `\nname_bucket{le="+Inf"`. */
  readonly bucket: readonly Buffer[];
  readonly sum: Buffer;
  readonly count: Buffer;
  /** The longest of them. */
  readonly maxLength: number;
}

/** A histogram family: its name, help, bucket bounds and live series. */
export class HistogramFamilyStore {
  readonly #series = new Set<HistogramSeries>();
  readonly bounds: readonly number[];
  readonly #header: string;
  readonly #pieces: LinePieces;

  constructor(
    readonly name: string,
    readonly help: string,
    bounds: readonly number[],
  ) {
    this.bounds = [...bounds].sort((a, b) => a - b);
    const n = escapeText(name);
    this.#header = `# HELP ${n} ${escapeText(help)}\n# TYPE ${n} histogram`;
    const les = [...this.bounds.map(String), "+Inf"];
    const bucket = les.map((le) => Buffer.from(`\n${n}_bucket{le="${le}"`));
    this.#pieces = {
      bucket,
      sum: Buffer.from(`\n${n}_sum`),
      count: Buffer.from(`\n${n}_count`),
      maxLength: Math.max(...bucket.map((b) => b.length)),
    };
  }

  get size(): number {
    return this.#series.size;
  }

  /** A new series with these labels (`a="x",b="y"`, escaped and encoded). */
  add(labels: Buffer): HistogramSeries {
    const series = new HistogramSeries(this, labels);
    this.#series.add(series);
    return series;
  }

  remove(series: HistogramSeries): void {
    this.#series.delete(series);
  }

  /**
   * The family's Prometheus text: HELP/TYPE, then the series in creation order, in chunks of
   * at most `seriesPerChunk` series (and about 256 KiB) with a turn of the event loop in
   * between. Every chunk but the header starts with "\n"; nothing ends with one
   * (prom-client's layout).
   */
  async *text(seriesPerChunk: number): AsyncGenerator<string | Buffer> {
    yield this.#header;
    const all = [...this.#series];
    const out = new ChunkBuffer();
    let inChunk = 0;
    for (let i = 0; i < all.length; i++) {
      writeSeries(out, this.#pieces, all[i]!);
      if (++inChunk < seriesPerChunk && out.length < CHUNK_BYTES && i + 1 < all.length) continue;
      yield out.take();
      inChunk = 0;
      if (i + 1 < all.length) await yieldToLoop();
    }
  }
}

/**
 * A growing byte buffer, handed out in pieces. Two buffers take turns: a chunk handed out is
 * written over two take()s later, so a scrape of 120 MB allocates two buffers instead of
 * hundreds (whose garbage showed as 200+ ms scrapes and 30 ms event-loop delays). The
 * consumer must be done with a chunk before it asks for the next one but one (MetricsSource).
 */
class ChunkBuffer {
  #buffer: Buffer = Buffer.allocUnsafe(CHUNK_BYTES + (CHUNK_BYTES >> 2));
  #other: Buffer | undefined;
  length = 0;

  /** Makes room for `bytes` more. */
  reserve(bytes: number): void {
    if (this.length + bytes <= this.#buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.length + bytes));
    this.#buffer.copy(bigger, 0, 0, this.length);
    this.#buffer = bigger;
  }

  // set() and the loop below stay in JavaScript; Buffer.copy() and write() are calls into
  // C++ that cost more than the few bytes they move (a scrape makes over a million of them).
  bytes(piece: Buffer): void {
    this.#buffer.set(piece, this.length);
    this.length += piece.length;
  }

  /** ASCII text (numbers and punctuation); reserve() first. */
  ascii(text: string): void {
    const buffer = this.#buffer;
    let at = this.length;
    for (let i = 0; i < text.length; i++) buffer[at++] = text.charCodeAt(i);
    this.length = at;
  }

  /** The bytes written so far; writing goes on in the other buffer. */
  take(): Buffer {
    const handedOut = this.#buffer;
    const chunk = handedOut.subarray(0, this.length);
    this.#buffer = this.#other ?? Buffer.allocUnsafe(handedOut.length);
    this.#other = handedOut;
    this.length = 0;
    return chunk;
  }
}

function writeSeries(out: ChunkBuffer, pieces: LinePieces, s: HistogramSeries): void {
  const labels = s.labels;
  const lines = pieces.bucket.length + 2;
  out.reserve(lines * (pieces.maxLength + labels.length + NUMBER_ROOM));
  const withLabels = labels.length > 0;
  let acc = 0;
  for (let i = 0; i < pieces.bucket.length; i++) {
    acc = i < s.buckets.length ? acc + s.buckets[i]! : s.count;
    out.bytes(pieces.bucket[i]!);
    if (withLabels) {
      out.ascii(",");
      out.bytes(labels);
    }
    out.ascii(`} ${acc}`);
  }
  for (const [piece, value] of [
    [pieces.sum, valueText(s.sum)],
    [pieces.count, String(s.count)],
  ] as const) {
    out.bytes(piece);
    if (withLabels) {
      out.ascii("{");
      out.bytes(labels);
      out.ascii("}");
    }
    out.ascii(` ${value}`);
  }
}
