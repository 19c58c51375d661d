/**
 * A token bucket: `ratePerSecond` on average, bursts of up to `burst`. Hot-path code (one
 * check per client frame): two numbers, no allocation, the clock passed in by the caller
 * (milliseconds, monotonic). A bucket starts full.
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

/**
 * How far past its rate limits a connection has gone: every refused command adds one, the
 * level drains at `drainPerSecond`. Past `threshold` the connection is taken for abusive
 * and closed (4029). With the drain at half the command rate and the threshold at 5 s of
 * it, a client that keeps sending at twice its limit is closed after about 10 s, a flood
 * within moments, and one that only grazes the limit never.
 */
export class ExcessMeter {
  private level = 0;
  private lastMs: number;
  private readonly perMs: number;

  constructor(
    drainPerSecond: number,
    private readonly threshold: number,
    nowMs: number,
  ) {
    this.perMs = drainPerSecond / 1000;
    this.lastMs = nowMs;
  }

  /** Counts one refused command; true when the level has now passed the threshold. */
  add(nowMs: number): boolean {
    const elapsed = nowMs - this.lastMs;
    if (elapsed > 0) {
      this.lastMs = nowMs;
      this.level = drained(this.level, elapsed, this.perMs);
    }
    this.level += 1;
    return this.level > this.threshold;
  }
}
