import { describe, expect, it } from "vitest";
import { must } from "../harness/must.js";
import { startBaseline } from "./baseline.js";
import { expectBooksBalance, expectComparison } from "./checks.js";
import { runBench, tiny } from "./run-bench.js";

describe("rocket-bench fanout", () => {
  it("compares Rocket with the baseline, and every publish reaches every subscriber", async () => {
    const outcome = await runBench(["--compare", "fanout", "--subscribers", "10", ...tiny]);
    for (const run of expectComparison(outcome, "fanout")) {
      expect(run.connections.requested).toBe(11);
      for (const phase of run.phases) expectBooksBalance(phase, 10);
    }
  }, 90_000);

  it("runs one fixed-rate phase against a given server", async () => {
    await using baseline = await startBaseline();
    const outcome = await runBench([
      "fanout",
      "--url",
      baseline.url,
      "--label",
      "mine",
      "--subscribers",
      "5",
      "--rate",
      "200",
      ...tiny,
    ]);
    expect(outcome.code, outcome.stderr).toBe(0);
    const [run] = must(outcome.report).runs;
    expect(must(run).target).toBe("mine");
    expect(must(run).phases.map((p) => p.name)).toEqual(["fixed"]);
    expectBooksBalance(must(must(run).phases[0]), 5);
    expect(outcome.stdout).toContain("fixed rate: latency p99 ms");
  }, 60_000);
});
