/** What a bounded cache reports, so its effect (and its churn) can be exported as metrics. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries dropped to stay within capacity. */
  evictions: number;
  size: number;
  capacity: number;
}

/**
 * A bounded cache that keeps recently used entries: an approximate LRU in two generations.
 * New and recently read entries go to the young map; when it is full, the old map is dropped
 * (its entries not read since are the evictions) and the young one becomes old. A read that
 * hits the old map copies the entry back to the young one.
 *
 * Why not the textbook Map-based LRU (delete and re-insert on every hit): V8 degrades badly
 * when one key of a large Map is deleted and re-inserted over and over (tens of microseconds
 * per hit was measured for a hot "/health" among 66k paths), and a hot key is exactly what
 * route caching sees. Here a hit is one or two Map.get calls and nothing is ever deleted.
 */
export class BoundedCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  /** Keys of `old` that were copied to `young`; they survive the next rotation. */
  private promoted = 0;
  private readonly generationSize: number;
  private readonly capacity: number;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  /** Holds at most `capacity` (at least 2) distinct keys. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2) {
      throw new RangeError(`cache capacity must be an integer of at least 2, got ${capacity}`);
    }
    this.capacity = capacity;
    this.generationSize = Math.floor(capacity / 2);
  }

  get(key: K): V | undefined {
    const young = this.young.get(key);
    if (young !== undefined) {
      this.hits++;
      return young;
    }
    const old = this.old.get(key);
    if (old === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.addYoung(key, old);
    return old;
  }

  set(key: K, value: V): void {
    if (this.young.has(key)) {
      this.young.set(key, value);
      return;
    }
    this.addYoung(key, value);
  }

  stats(): CacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      size: this.young.size + this.old.size - this.promoted,
      capacity: this.capacity,
    };
  }

  /** Callers make sure `key` is not in `young`. */
  private addYoung(key: K, value: V): void {
    const inOld = this.old.has(key);
    if (this.young.size >= this.generationSize) {
      // The old generation goes, except what was copied out of it (and `key`, being copied now).
      this.evictions += this.old.size - this.promoted - (inOld ? 1 : 0);
      this.old = this.young;
      this.young = new Map();
      this.promoted = 0;
    } else if (inOld) {
      this.promoted++;
    }
    this.young.set(key, value);
  }
}
