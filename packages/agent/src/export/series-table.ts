/**
 * A bounded table of metric series with a time-to-live.
 *
 * Each series has a string key and a value (its cached label set and instrument handles).
 * A series that has not been touched for `ttlMs` is removed by `expire()`; once `maxSeries`
 * series exist, new ones are refused (the caller counts the drop) until old ones expire.
 */

/** One series; callers may keep it to mark it seen without a lookup (see `removed`). */
export interface SeriesEntry<V> {
  readonly value: V;
  lastSeenMs: number;
  /** Set once the table no longer holds it (expired or cleared): look it up again. */
  removed: boolean;
}

export interface SeriesTableOptions {
  /** Series not updated for this long are expired. */
  ttlMs: number;
  /** Upper bound on live series; new series beyond it are refused. */
  maxSeries: number;
}

export class SeriesTable<V> {
  readonly #entries = new Map<string, SeriesEntry<V>>();
  readonly #ttlMs: number;
  readonly #maxSeries: number;

  constructor(options: SeriesTableOptions) {
    if (!(options.ttlMs > 0)) throw new RangeError(`ttlMs must be > 0, got ${options.ttlMs}`);
    if (!Number.isInteger(options.maxSeries) || options.maxSeries < 1) {
      throw new RangeError(`maxSeries must be an integer >= 1, got ${options.maxSeries}`);
    }
    this.#ttlMs = options.ttlMs;
    this.#maxSeries = options.maxSeries;
  }

  get size(): number {
    return this.#entries.size;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** The value of `key`, marked as seen at `nowMs`; undefined when the key is new. */
  touch(key: string, nowMs: number): V | undefined {
    return this.touchEntry(key, nowMs)?.value;
  }

  /** The entry of `key`, marked as seen at `nowMs`; undefined when the key is new. */
  touchEntry(key: string, nowMs: number): SeriesEntry<V> | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined) entry.lastSeenMs = nowMs;
    return entry;
  }

  /** Whether maxSeries series exist, so that add() would be refused. */
  get full(): boolean {
    return this.#entries.size >= this.#maxSeries;
  }

  /** Adds a new series seen at `nowMs`; false (nothing added) when the table is full. */
  add(key: string, nowMs: number, value: V): boolean {
    return this.addEntry(key, nowMs, value) !== undefined;
  }

  /** Adds a new series seen at `nowMs`; undefined (nothing added) when the table is full. */
  addEntry(key: string, nowMs: number, value: V): SeriesEntry<V> | undefined {
    const previous = this.#entries.get(key);
    if (this.full && previous === undefined) return undefined;
    if (previous) previous.removed = true; // replaced
    const entry = { value, lastSeenMs: nowMs, removed: false };
    this.#entries.set(key, entry);
    return entry;
  }

  /** Removes the series last seen more than ttlMs before `nowMs` and returns their values. */
  expire(nowMs: number): V[] {
    const cutoff = nowMs - this.#ttlMs;
    const expired: V[] = [];
    for (const [key, entry] of this.#entries) {
      if (entry.lastSeenMs < cutoff) {
        this.#entries.delete(key);
        entry.removed = true;
        expired.push(entry.value);
      }
    }
    return expired;
  }

  /** Removes every series and returns their values. */
  clear(): V[] {
    const all = [...this.#entries.values()].map((e) => {
      e.removed = true;
      return e.value;
    });
    this.#entries.clear();
    return all;
  }

  *values(): Generator<V> {
    for (const entry of this.#entries.values()) yield entry.value;
  }
}

/** How often to sweep for a given TTL: half the TTL, between 10 ms and 60 s. */
export function sweepIntervalMs(ttlMs: number): number {
  return Math.min(60_000, Math.max(10, Math.floor(ttlMs / 2)));
}
