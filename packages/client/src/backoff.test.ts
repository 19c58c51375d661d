import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.js";

const options = { initialDelayMs: 100, maxDelayMs: 1000 };

describe("backoffDelay", () => {
  it("draws from [0, initial·2^attempt) with full jitter", () => {
    expect(backoffDelay(0, options, () => 0)).toBe(0);
    expect(backoffDelay(0, options, () => 0.5)).toBe(50);
    expect(backoffDelay(1, options, () => 0.5)).toBe(100);
    expect(backoffDelay(2, options, () => 0.999)).toBe(399);
  });

  it("never exceeds maxDelayMs, however many attempts", () => {
    expect(backoffDelay(4, options, () => 0.999)).toBe(999);
    expect(backoffDelay(10_000, options, () => 0.999)).toBe(999);
  });

  it("spreads clients over the window", () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return (seed - 1) / 2147483646;
    };
    const delays = Array.from({ length: 1000 }, () => backoffDelay(3, options, random));
    expect(Math.min(...delays)).toBeLessThan(50);
    expect(Math.max(...delays)).toBeGreaterThan(750);
    expect(Math.max(...delays)).toBeLessThan(800);
  });
});
