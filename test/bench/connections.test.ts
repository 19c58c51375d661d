import { describe, expect, it } from "vitest";
import { expectBooksBalance, expectComparison } from "./checks.js";
import { runBench, tiny } from "./run-bench.js";

describe("rocket-bench connections", () => {
  it("holds idle subscribed connections from worker processes and reports server memory per connection", async () => {
    const outcome = await runBench([
      "--compare",
      "connections",
      "--connections",
      "60",
      "--publish-fraction",
      "0.1",
      "--settle",
      "0.2",
      "--source-addresses",
      "127.0.0.2-127.0.0.3",
      ...tiny,
      "--workers",
      "2",
    ]);
    for (const run of expectComparison(outcome, "connections")) {
      expect(run.idle?.held).toBe(60);
      expect(typeof run.idle?.rssPerConnectionBytes).toBe("number");
      for (const phase of run.phases) expectBooksBalance(phase, 1);
    }
    expect(outcome.stdout).toContain("idle: server RSS per connection");
    expect(outcome.stdout).toContain("load: 2 worker processes");
  }, 90_000);
});
