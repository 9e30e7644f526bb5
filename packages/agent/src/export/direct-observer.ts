/**
 * A pre-resolved handle on one label set of a prom-client histogram.
 *
 * prom-client's `observe` validates and hashes every label on every call (about 1-2 µs with
 * our dozen labels, three histograms per request). Here the first observation goes through
 * prom-client, which creates the label set's storage; later ones update that storage
 * directly, exactly as prom-client 15 does (sum, count, the first bucket whose upper bound
 * holds the value). If prom-client's storage is not of the expected shape, every
 * observation keeps going through prom-client.
 */
import { createRequire } from "node:module";
import type { Histogram } from "prom-client";

interface Entry {
  labels: object;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

interface Internals {
  hashMap: Record<string, Entry>;
  upperBounds: number[];
  sortedLabelNames: string[];
}

type HashObject = (labels: object, sortedLabelNames: string[]) => string;

const hashObject: HashObject | undefined = (() => {
  try {
    const util = createRequire(import.meta.url)("prom-client/lib/util.js") as {
      hashObject?: unknown;
    };
    return typeof util.hashObject === "function" ? (util.hashObject as HashObject) : undefined;
  } catch {
    return undefined;
  }
})();

function internalsOf(histogram: Histogram<string>): Internals | undefined {
  const h = histogram as unknown as Partial<Internals>;
  const ok =
    typeof h.hashMap === "object" &&
    h.hashMap !== null &&
    Array.isArray(h.upperBounds) &&
    Array.isArray(h.sortedLabelNames);
  return ok ? (h as Internals) : undefined;
}

export interface Observer {
  observe(value: number): void;
}

export function directObserver(
  histogram: Histogram<string>,
  labels: Record<string, string>,
): Observer {
  const internals = internalsOf(histogram);
  let entry: Entry | undefined;
  let resolved = false;
  return {
    observe(value: number): void {
      if (entry !== undefined && Number.isFinite(value)) {
        entry.sum += value;
        entry.count += 1;
        const bounds = internals!.upperBounds;
        for (let i = 0; i < bounds.length; i++) {
          if (value <= bounds[i]!) {
            entry.bucketValues[bounds[i]!]! += 1;
            break;
          }
        }
        return;
      }
      histogram.observe(labels, value);
      if (!resolved && internals && hashObject) {
        resolved = true;
        const found = internals.hashMap[hashObject(labels, internals.sortedLabelNames)];
        if (found && found.labels === labels) entry = found;
      }
    },
  };
}
