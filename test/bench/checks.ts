import { expect } from "vitest";
import { must } from "../harness/must.js";
import type { BenchOutcome, Phase, Run } from "./run-bench.js";

/** Every delivery owed is either received or counted lost, and nothing was lost or refused. */
export function expectBooksBalance(phase: Phase, subscribers: number): void {
  expect(phase.expected, `${phase.name}: expected`).toBeGreaterThan(0);
  expect(phase.received + phase.lost, `${phase.name}: received + lost`).toBe(phase.expected);
  expect(phase.lost, `${phase.name}: lost`).toBe(0);
  expect(phase.duplicates, `${phase.name}: duplicates`).toBe(0);
  expect(phase.dropped, `${phase.name}: dropped connections`).toBe(0);
  expect(phase.errors, `${phase.name}: publish errors`).toBe(0);
  expect(phase.acks, `${phase.name}: acks`).toBe(phase.published);
  // every publish of the phase reached every subscriber of its channel
  if (subscribers > 0) expect(phase.expected).toBe(phase.published * subscribers);
  expect(phase.latency.count).toBeGreaterThan(0);
  expect(phase.latency.p99Ms).toBeGreaterThan(0);
}

/** A comparison that ran both servers through a peak and a half-rate phase, and printed the ratio. */
export function expectComparison(outcome: BenchOutcome, scenario: string): [Run, Run] {
  expect(outcome.code, outcome.stderr).toBe(0);
  const report = must(outcome.report);
  expect(report.scenario).toBe(scenario);
  expect(report.runs.map((r) => r.target)).toEqual(["rocket", "baseline"]);
  expect(outcome.stdout).toMatch(/rocket\/baseline peak deliveries\/s: [\d,]+ \/ [\d,]+ = \d+\.\d\d/);
  for (const run of report.runs) {
    expect(run.error).toBeUndefined();
    expect(run.connections.failed).toBe(0);
    expect(run.connections.opened).toBe(run.connections.requested);
    expect(run.phases.map((p) => p.name)).toEqual(["peak", "half"]);
    const [peak, half] = run.phases as [Phase, Phase];
    expect(half.targetRate).toBeCloseTo(peak.publishRate / 2, 0);
  }
  return report.runs as [Run, Run];
}
