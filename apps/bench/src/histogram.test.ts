import { describe, expect, it } from "vitest";
import { createHistogram, encodeHistogram, maxLatencyMicros, mergeEncoded, recordMicros, summarize } from "./histogram.js";

describe("latency histogram", () => {
  it("summarizes microseconds as milliseconds", () => {
    const h = createHistogram();
    for (let i = 1; i <= 1000; i++) recordMicros(h, i * 10);
    const s = summarize(h);
    expect(s.count).toBe(1000);
    expect(s.p50Ms).toBeCloseTo(5, 1);
    expect(s.p99Ms).toBeCloseTo(9.9, 1);
    expect(s.p999Ms).toBeCloseTo(9.99, 1);
    expect(s.maxMs).toBeCloseTo(10, 1);
  });

  it("reports nothing, not zeros, for an empty histogram", () => {
    expect(summarize(createHistogram())).toEqual({
      count: 0,
      p50Ms: undefined,
      p99Ms: undefined,
      p999Ms: undefined,
      maxMs: undefined,
      meanMs: undefined,
    });
  });

  it("clamps negative and huge values instead of throwing", () => {
    const h = createHistogram();
    recordMicros(h, -5);
    recordMicros(h, maxLatencyMicros * 10);
    expect(h.totalCount).toBe(2);
    expect(h.maxValue).toBeGreaterThanOrEqual(maxLatencyMicros * 0.999);
  });

  it("merges encoded histograms from several workers without losing counts", () => {
    const a = createHistogram();
    const b = createHistogram();
    for (let i = 0; i < 500; i++) recordMicros(a, 100);
    for (let i = 0; i < 500; i++) recordMicros(b, 10_000);
    const total = createHistogram();
    mergeEncoded(total, encodeHistogram(a));
    mergeEncoded(total, encodeHistogram(b));
    const s = summarize(total);
    expect(s.count).toBe(1000);
    expect(s.p50Ms).toBeCloseTo(0.1, 2);
    expect(s.p99Ms).toBeCloseTo(10, 1);
  });

  it("merges an empty interval as nothing", () => {
    const total = createHistogram();
    mergeEncoded(total, encodeHistogram(createHistogram()));
    expect(total.totalCount).toBe(0);
  });
});
