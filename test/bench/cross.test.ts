import { describe, expect, it } from "vitest";
import { expectBooksBalance, expectComparison } from "./checks.js";
import { runBench, tiny } from "./run-bench.js";

describe("rocket-bench cross", () => {
  it("publishes on node B to subscribers on node A through Redis, for Rocket and the Redis baseline", async () => {
    const outcome = await runBench(["--compare", "cross", "--subscribers", "10", ...tiny]);
    for (const run of expectComparison(outcome, "cross")) {
      expect(run.urls).toHaveLength(2);
      for (const phase of run.phases) expectBooksBalance(phase, 10);
    }
  }, 90_000);
});
