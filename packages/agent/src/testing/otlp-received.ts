/**
 * What a test OTLP receiver (HTTP or gRPC) keeps of what it received, and waiting until a
 * condition holds on it.
 */
import type { ReceivedMetric, ReceivedRequest, ReceivedSpan } from "./otlp-types.js";

interface Waiter {
  check: () => boolean;
  resolve: () => void;
}

export abstract class OtlpReceived {
  protected readonly receivedSpans: ReceivedSpan[] = [];
  protected readonly receivedMetrics: ReceivedMetric[] = [];
  protected readonly receivedRequests: ReceivedRequest[] = [];
  protected readonly decodeErrors: string[] = [];
  readonly #waiters = new Set<Waiter>();

  spans(): ReceivedSpan[] {
    return [...this.receivedSpans];
  }

  metrics(): ReceivedMetric[] {
    return [...this.receivedMetrics];
  }

  /** Every accepted request, in arrival order, with its headers (gRPC: its metadata). */
  requests(): ReceivedRequest[] {
    return [...this.receivedRequests];
  }

  /** Requests that could not be decoded. */
  errors(): string[] {
    return [...this.decodeErrors];
  }

  /** Resolves once `predicate` holds; rejects after timeoutMs with what was received. */
  waitFor(predicate: (receiver: this) => boolean, timeoutMs = 5_000): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => predicate(this),
        resolve: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(
            `${this.constructor.name}.waitFor: condition not met after ${timeoutMs} ms ` +
              `(${this.receivedRequests.length} requests, ${this.receivedSpans.length} spans, ` +
              `${this.receivedMetrics.length} metrics, errors: ${JSON.stringify(this.decodeErrors)})`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Wakes the waiters whose condition now holds; call after recording a request. */
  protected notify(): void {
    for (const waiter of [...this.#waiters]) if (waiter.check()) waiter.resolve();
  }
}
