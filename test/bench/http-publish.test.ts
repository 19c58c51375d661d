import { describe, expect, it } from "vitest";
import { expectBooksBalance } from "./checks.js";
import type { Phase } from "./run-bench.js";
import { runBench, tiny } from "./run-bench.js";

describe("rocket-bench --http-publish", () => {
  it("compares publishers on Rocket's HTTP API with publishers on WebSockets, losing nothing either way", async () => {
    const outcome = await runBench(["--compare", "fanout", "--subscribers", "10", "--http-publish", ...tiny]);
    expect(outcome.code, outcome.stderr).toBe(0);
    const runs = outcome.report?.runs ?? [];
    expect(runs.map((r) => r.target)).toEqual(["rocket+http", "rocket"]);
    expect(outcome.stdout).toMatch(/rocket\+http\/rocket peak deliveries\/s: [\d,]+ \/ [\d,]+ = \d+\.\d\d/);
    for (const run of runs) {
      expect(run.error).toBeUndefined();
      expect(run.connections.opened).toBe(11);
      for (const phase of run.phases as Phase[]) expectBooksBalance(phase, 10);
    }
  }, 90_000);
});
