/**
 * A queue of keys (namespace/name) handled one at a time: a key added while it waits is not
 * added twice; a key added while it is being handled is handled again afterwards; a handler
 * that throws has its key retried with backoff. The loop never throws.
 */
import { backoffDelay, type BackoffOptions } from "./backoff.js";
import type { Log } from "./logger.js";

export type KeyHandler = (key: string) => Promise<void>;

export interface WorkQueueOptions {
  handler: KeyHandler;
  log: Log;
  retry?: BackoffOptions;
  /** Bound on keys waiting; beyond it, additions are dropped and counted. Default 100000. */
  maxPending?: number;
}

export class WorkQueue {
  readonly #options: WorkQueueOptions;
  readonly #pending = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #active: string | undefined;
  #again = false;
  #running = false;
  #stopped = false;
  #idle: (() => void)[] = [];
  /** Additions dropped because the queue was full. */
  dropped = 0;

  constructor(options: WorkQueueOptions) {
    this.#options = options;
  }

  get length(): number {
    return this.#pending.size;
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (key === this.#active) {
      this.#again = true;
      return;
    }
    if (this.#pending.has(key)) return;
    if (this.#pending.size >= (this.#options.maxPending ?? 100_000)) {
      this.dropped++;
      return;
    }
    this.#pending.add(key);
    void this.#run();
  }

  /** Adds the key after `ms` (a single timer per key: the earliest wins). */
  addAfter(key: string, ms: number): void {
    if (this.#stopped || this.#timers.has(key)) return;
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.#timers.set(key, timer);
  }

  /** Resolves when nothing is pending or being handled (tests). */
  drained(): Promise<void> {
    if (this.#pending.size === 0 && this.#active === undefined) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  stop(): void {
    this.#stopped = true;
    this.#pending.clear();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  async #run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (;;) {
        const next = this.#pending.values().next();
        if (next.done === true || this.#stopped) break;
        const key = next.value;
        this.#pending.delete(key);
        this.#active = key;
        this.#again = false;
        await this.#handle(key);
        this.#active = undefined;
        if (this.#again) this.add(key);
      }
    } finally {
      this.#running = false;
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  async #handle(key: string): Promise<void> {
    try {
      await this.#options.handler(key);
      this.#failures.delete(key);
    } catch (err) {
      const n = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, n);
      const delay = backoffDelay(n, this.#options.retry ?? { baseMs: 500, maxMs: 60_000 });
      this.#options.log.warn("reconcile failed; will retry", {
        key,
        attempt: n,
        delayMs: delay,
        error: err,
      });
      this.addAfter(key, delay);
    }
  }
}
