/**
 * Converts kernel CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns) to Unix-epoch nanoseconds.
 * process.hrtime.bigint() reads the same monotonic clock; the offset to wall time is
 * refreshed now and then so a stepped or slewed wall clock is followed.
 */
export class MonotonicClock {
  private offset = 0n;
  private refreshedAt = 0;

  constructor(private readonly refreshMs = 60_000) {
    this.refresh();
  }

  toUnixNano(monotonicNs: bigint): bigint {
    const now = Date.now();
    if (now - this.refreshedAt > this.refreshMs) this.refresh();
    return monotonicNs + this.offset;
  }

  private refresh(): void {
    this.refreshedAt = Date.now();
    this.offset = BigInt(this.refreshedAt) * 1_000_000n - process.hrtime.bigint();
  }
}
