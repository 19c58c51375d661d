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
        expect(must(phase.churn).cycles).toBeGreaterThan(0);
        expect(must(phase.churn).failures).toBe(0);
        expect(must(phase.churn).subscribeLatency.count).toBeGreaterThan(0);
      }
    }
    expect(outcome.stdout).toContain("churn subscribe p99 ms");
  }, 90_000);
});
