import { describe, expect, it } from "vitest";
import { expectBooksBalance, expectComparison } from "./checks.js";
import { runBench, tiny } from "./run-bench.js";

/** A hub token secret for the gateways --compare starts (at least 32 characters). */
const tokenSecret = "bench-token-secret-0123456789abcdef";

describe("rocket-bench with --token-secret", () => {
  it("authenticates every connection with a token in fanout, and loses nothing", async () => {
    const outcome = await runBench(["--compare", "fanout", "--subscribers", "10", "--token-secret", tokenSecret, ...tiny]);
    for (const run of expectComparison(outcome, "fanout")) {
      expect(run.connections.opened).toBe(11);
      for (const phase of run.phases) expectBooksBalance(phase, 10);
    }
  }, 90_000);

  it("does the same in channels", async () => {
    const outcome = await runBench([
      "--compare",
      "channels",
      "--connections",
      "40",
      "--publish-fraction",
      "0.25",
      "--token-secret",
      tokenSecret,
      ...tiny,
    ]);
    for (const run of expectComparison(outcome, "channels")) {
      expect(run.connections.opened).toBe(40);
      for (const phase of run.phases) expectBooksBalance(phase, 1);
    }
  }, 90_000);
});
