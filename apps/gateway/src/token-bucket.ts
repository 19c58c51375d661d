/**
 * A token bucket: `ratePerSecond` on average, bursts of up to `burst` (a node's new
 * connections per second). Two numbers, no allocation, the clock passed in by the caller
 * (milliseconds, monotonic). A bucket starts full. A connection's own rates use the same
 * arithmetic ({@link refilled}, {@link drained}) in one object (rate-limits.ts).
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;
  private readonly perMs: number;

  constructor(
    ratePerSecond: number,
    private readonly burst: number,
    nowMs: number,
  ) {
    this.perMs = ratePerSecond / 1000;
    this.tokens = burst;
    this.lastMs = nowMs;
  }

  /** Takes one token if there is one; false (nothing taken) when the bucket is empty. */
  take(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private refill(nowMs: number): void {
    const elapsed = nowMs - this.lastMs;
    if (elapsed <= 0) return;
    this.lastMs = nowMs;
    this.tokens = refilled(this.tokens, elapsed, this.perMs, this.burst);
  }
}

/** A bucket's tokens `elapsedMs` later at `perMs`, never past `burst`. */
export function refilled(tokens: number, elapsedMs: number, perMs: number, burst: number): number {
  return Math.min(tokens + elapsedMs * perMs, burst);
}

/** A meter's level `elapsedMs` later, draining at `perMs`, never below 0. */
export function drained(level: number, elapsedMs: number, perMs: number): number {
  return Math.max(level - elapsedMs * perMs, 0);
}
