/**
 * Per-service state (label sets, MeterProviders, TracerProviders), created lazily and
 * bounded in number.
 *
 * A service is identified by the content of its ServiceIdentity, not by object identity, so
 * two equal identities share one slot; the identity object itself is a fast-path cache key.
 */
import type { ServiceIdentity } from "../request-span.js";

export interface ServiceSlot<T> {
  /** Small unique number, stable for the life of the slot; usable in cache keys. */
  readonly id: number;
  readonly fingerprint: string;
  readonly identity: ServiceIdentity;
  readonly state: T;
  /** Free for the owner: how many series use this slot. */
  refs: number;
  /** Free for the owner: when the slot was last used. */
  lastSeenMs: number;
  /** A pinned slot is never idle (its process is known to be alive). */
  pinned: boolean;
  removed: boolean;
}

export interface ServiceSlotsOptions<T> {
  maxServices: number;
  create: (identity: ServiceIdentity) => T;
}

/** A string equal for two identities exactly when every field is equal. */
export function serviceFingerprint(identity: ServiceIdentity): string {
  const attrs = Object.keys(identity.attributes)
    .sort()
    .map((k) => [k, identity.attributes[k]]);
  return JSON.stringify([
    identity.name,
    identity.namespace,
    identity.instanceId,
    identity.pid,
    identity.exePath,
    attrs,
  ]);
}

export class ServiceSlots<T> {
  readonly #byIdentity = new WeakMap<ServiceIdentity, ServiceSlot<T>>();
  readonly #byFingerprint = new Map<string, ServiceSlot<T>>();
  readonly #options: ServiceSlotsOptions<T>;
  #nextId = 1;

  constructor(options: ServiceSlotsOptions<T>) {
    if (!Number.isInteger(options.maxServices) || options.maxServices < 1) {
      throw new RangeError(`maxServices must be an integer >= 1, got ${options.maxServices}`);
    }
    this.#options = options;
  }

  get size(): number {
    return this.#byFingerprint.size;
  }

  /** The slot of `identity`, created if needed; undefined when maxServices slots exist. */
  get(identity: ServiceIdentity, nowMs: number): ServiceSlot<T> | undefined {
    const cached = this.#byIdentity.get(identity);
    if (cached !== undefined && !cached.removed) {
      cached.lastSeenMs = nowMs;
      return cached;
    }
    const fingerprint = serviceFingerprint(identity);
    let slot = this.#byFingerprint.get(fingerprint);
    if (slot === undefined) {
      if (this.#byFingerprint.size >= this.#options.maxServices) return undefined;
      slot = {
        id: this.#nextId++,
        fingerprint,
        identity,
        state: this.#options.create(identity),
        refs: 0,
        lastSeenMs: nowMs,
        pinned: false,
        removed: false,
      };
      this.#byFingerprint.set(fingerprint, slot);
    }
    slot.lastSeenMs = nowMs;
    this.#byIdentity.set(identity, slot);
    return slot;
  }

  /** Forgets the slot; the caller disposes of its state. */
  remove(slot: ServiceSlot<T>): void {
    if (slot.removed) return;
    slot.removed = true;
    this.#byFingerprint.delete(slot.fingerprint);
  }

  /** Removes and returns the unpinned slots last used before `cutoffMs`. */
  removeIdle(cutoffMs: number): ServiceSlot<T>[] {
    return this.removeWhere((slot) => !slot.pinned && slot.lastSeenMs < cutoffMs);
  }

  /** Removes and returns the slots of process `pid`. */
  removePid(pid: number): ServiceSlot<T>[] {
    return this.removeWhere((slot) => slot.identity.pid === pid);
  }

  removeWhere(predicate: (slot: ServiceSlot<T>) => boolean): ServiceSlot<T>[] {
    const matching = [...this.#byFingerprint.values()].filter(predicate);
    for (const slot of matching) this.remove(slot);
    return matching;
  }

  /** Removes and returns every slot. */
  clear(): ServiceSlot<T>[] {
    const all = [...this.#byFingerprint.values()];
    for (const slot of all) this.remove(slot);
    return all;
  }

  values(): ServiceSlot<T>[] {
    return [...this.#byFingerprint.values()];
  }
}
