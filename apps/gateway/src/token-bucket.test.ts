import { describe, expect, it } from "vitest";
import { TokenBucket } from "./token-bucket.js";

/** How many of `n` takes, spread evenly over `ms`, the bucket grants. */
function granted(bucket: TokenBucket, n: number, fromMs: number, ms: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (bucket.take(fromMs + (ms * i) / n)) ok++;
  return ok;
}

describe("TokenBucket", () => {
  it("grants a full burst at once, then nothing until time passes", () => {
    const bucket = new TokenBucket(100, 200, 0);
    expect(granted(bucket, 300, 0, 0)).toBe(200);
    expect(bucket.take(0)).toBe(false);
    expect(bucket.take(10)).toBe(true);
    expect(bucket.take(10)).toBe(false);
  });

  it("grants the rate on average over a long run", () => {
    const bucket = new TokenBucket(100, 200, 0);
    granted(bucket, 200, 0, 0);
    // 10 s at 1000 attempts a second: 100 a second get through.
    expect(granted(bucket, 10_000, 0, 10_000)).toBeGreaterThanOrEqual(999);
    expect(granted(bucket, 10_000, 10_000, 10_000)).toBeLessThanOrEqual(1001);
  });

  it("never holds more than its burst, and ignores a clock that goes back", () => {
    const bucket = new TokenBucket(100, 5, 0);
    expect(granted(bucket, 10, 1_000_000, 0)).toBe(5);
    expect(bucket.take(500)).toBe(false);
  });

  it("allows fractional rates", () => {
    const bucket = new TokenBucket(0.5, 1, 0);
    expect(bucket.take(0)).toBe(true);
    expect(bucket.take(1999)).toBe(false);
    expect(bucket.take(2000)).toBe(true);
  });
});
