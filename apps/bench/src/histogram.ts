import hdr from "hdr-histogram-js";

export type Histogram = hdr.Histogram;

/** Highest latency recorded, in microseconds (60 s); slower deliveries are clamped to it. */
export const maxLatencyMicros = 60_000_000;

/** A latency histogram in microseconds with 3 significant digits (HdrHistogram's usual setting). */
export function createHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: maxLatencyMicros,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
  });
}

/** Records one latency; negative values (clock read in the wrong order) count as 0. */
export function recordMicros(histogram: Histogram, micros: number): void {
  histogram.recordValue(micros <= 0 ? 0 : micros >= maxLatencyMicros ? maxLatencyMicros : Math.round(micros));
}

/** Compressed base64, HdrHistogram's interchange format: how workers ship their histograms. */
export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

/** Adds an encoded histogram into `target`. */
export function mergeEncoded(target: Histogram, encoded: string): void {
  const other = hdr.decodeFromCompressedBase64(encoded);
  target.add(other);
}

/** Latency percentiles in milliseconds; undefined values when nothing was recorded. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly p999Ms: number | undefined;
  readonly maxMs: number | undefined;
  readonly meanMs: number | undefined;
}

export function summarize(histogram: Histogram): LatencySummary {
  const count = histogram.totalCount;
  const ms = (micros: number) => (count === 0 ? undefined : micros / 1000);
  return {
    count,
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    p999Ms: ms(histogram.getValueAtPercentile(99.9)),
    maxMs: ms(histogram.maxValue),
    meanMs: ms(histogram.mean),
  };
}
