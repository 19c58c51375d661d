import { describe, expect, it } from "vitest";
import { expectBooksBalance, expectComparison } from "./checks.js";
import { runBench, tiny } from "./run-bench.js";

describe("rocket-bench channels", () => {
  it("puts each connection on its own channel with a fraction publishing, and loses nothing", async () => {
    const outcome = await runBench(["--compare", "channels", "--connections", "40", "--publish-fraction", "0.25", ...tiny]);
    for (const run of expectComparison(outcome, "channels")) {
      expect(run.connections.requested).toBe(40);
      for (const phase of run.phases) {
        // each publisher is the one subscriber of its channel
        expectBooksBalance(phase, 1);
      }
    }
  }, 90_000);
});
