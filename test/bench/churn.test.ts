import { describe, expect, it } from "vitest";
import { must } from "../harness/must.js";
import { expectBooksBalance, expectComparison } from "./checks.js";
import { runBench, tiny } from "./run-bench.js";

describe("rocket-bench churn", () => {
  it("connects, subscribes and disconnects clients at a rate while a fanout runs undisturbed", async () => {
    const outcome = await runBench([
      "--compare",
      "churn",
      "--subscribers",
      "10",
      "--churn-rate",
      "40",
      "--churn-hold",
      "20",
      ...tiny,
    ]);
    for (const run of expectComparison(outcome, "churn")) {
      for (const phase of run.phases) {
        expectBooksBalance(phase, 10);
        expect(must(phase.churn).failures).toBe(0);
      }
      // Phases are half a second here: on a loaded machine one may end before any cycle has
      // held its 20 ms and closed, so cycles are counted over the run.
      const churn = run.phases.map((phase) => must(phase.churn));
      expect(churn.reduce((n, c) => n + c.cycles, 0)).toBeGreaterThan(0);
      expect(churn.reduce((n, c) => n + c.subscribeLatency.count, 0)).toBeGreaterThan(0);
    }
    expect(outcome.stdout).toContain("churn subscribe p99 ms");
  }, 90_000);
});
