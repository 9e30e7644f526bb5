/**
 * Versions of the compiled selector set. The version only moves forward: it grows by one when
 * the content (hash) changes, stays when the content is the same (so a restarted operator
 * pushes the very set the agents hold), and jumps above any version an agent reports holding.
 * The leader keeps version and hash on its Lease, so they survive restarts and failovers.
 */
import { createHash } from "node:crypto";
import {
  canonicalJson,
  makeSelectorSet,
  selectorSetHash,
  type SelectorSet,
  type SelectorSetResource,
} from "@beyla-ts/shared";

export const VERSION_ANNOTATION = "beyla.io/selector-set-version";
export const HASH_ANNOTATION = "beyla.io/selector-set-hash";

export interface VersionRecord {
  version: number;
  hash: string;
}

/** The record kept on the Lease, if it is there and well-formed. */
export function recordFromAnnotations(
  annotations: Readonly<Record<string, string>>,
): VersionRecord | undefined {
  const version = Number(annotations[VERSION_ANNOTATION]);
  const hash = annotations[HASH_ANNOTATION];
  if (!Number.isSafeInteger(version) || version < 1 || hash === undefined) return undefined;
  return { version, hash };
}

export function recordToAnnotations(record: VersionRecord): Record<string, string> {
  return { [VERSION_ANNOTATION]: String(record.version), [HASH_ANNOTATION]: record.hash };
}

export class SelectorSets {
  #current: SelectorSet | undefined;
  /** Version and hash of the last set, possibly from before a restart. */
  #last: VersionRecord | undefined;
  /** A version agents were seen holding; the next set goes above it. */
  #floor = 0;
  /**
   * For each resource key, the version of the set that first carried its current content
   * (generation, spec and resolved headers: a rotated Secret is new content too).
   */
  readonly #since = new Map<string, { digest: string; version: number }>();

  constructor(restored?: VersionRecord) {
    this.#last = restored;
  }

  get current(): SelectorSet | undefined {
    return this.#current;
  }

  /**
   * The set for these resources: the current one when nothing changed, else a new one.
   * Returns `changed` true when the set to push is different (content or version).
   */
  update(resources: readonly SelectorSetResource[]): { set: SelectorSet; changed: boolean } {
    const hash = selectorSetHash(resources);
    const last = this.#last;
    let version: number;
    if (last !== undefined && last.hash === hash && last.version > this.#floor) {
      version = last.version;
    } else {
      version = Math.max(last?.version ?? 0, this.#floor) + 1;
    }
    const previous = this.#current;
    if (previous !== undefined && previous.version === version && previous.hash === hash) {
      return { set: previous, changed: false };
    }
    const set = makeSelectorSet(version, resources);
    this.#current = set;
    this.#last = { version, hash };
    this.#recordSince(set);
    return { set, changed: true };
  }

  /**
   * An agent holds `version` with `hash`. When that is our content, adopt the higher version
   * (nothing to re-apply); otherwise make sure the next set goes above it. Returns true when
   * the current set must be re-versioned (call update again).
   */
  observed(version: number, hash: string): boolean {
    const current = this.#current;
    if (current === undefined || version < current.version) return false;
    if (version === current.version && hash === current.hash) return false;
    if (hash === current.hash) {
      this.#last = { version, hash };
      this.#floor = Math.max(this.#floor, version - 1);
    } else {
      this.#floor = Math.max(this.#floor, version);
    }
    return true;
  }

  /** Version and hash to keep on the Lease. */
  record(): VersionRecord | undefined {
    return this.#last;
  }

  /** Version of the set that first carried this resource's current content. */
  since(key: string): number | undefined {
    return this.#since.get(key)?.version;
  }

  #recordSince(set: SelectorSet): void {
    const keys = new Set<string>();
    for (const r of set.resources) {
      const key = `${r.namespace}/${r.name}`;
      keys.add(key);
      const digest = createHash("sha256").update(canonicalJson(r)).digest("hex");
      const known = this.#since.get(key);
      if (known === undefined || known.digest !== digest) {
        this.#since.set(key, { digest, version: set.version });
      }
    }
    for (const key of [...this.#since.keys()]) if (!keys.has(key)) this.#since.delete(key);
  }
}
