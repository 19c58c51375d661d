import { describe, expect, it } from "vitest";
import { must } from "../harness/must.js";
import { expectBooksBalance } from "./checks.js";
import { runBench, tiny } from "./run-bench.js";

describe("rocket-bench over rounds", () => {
  it("alternates Rocket and the baseline at one fixed rate, each with its own Redis, and gives the medians", async () => {
    const outcome = await runBench(
      [
        ...["--compare", "channels", "--connections", "40", "--publish-fraction", "0.25"],
        ...["--rate", "200", "--rounds", "2", "--with-redis"],
        ...tiny,
      ],
      120_000,
    );
    expect(outcome.code, outcome.stderr).toBe(0);
    const report = must(outcome.report);
    expect(report.runs.map((r) => `${r.target} ${r.round}`)).toEqual(["rocket 1", "baseline 1", "rocket 2", "baseline 2"]);
    for (const run of report.runs) {
      expect(run.error).toBeUndefined();
      expect(run.phases.map((p) => p.name)).toEqual(["fixed"]);
      const [fixed] = run.phases;
      expect(must(fixed).targetRate).toBe(200);
      // Redis is measured only where the side ran on its own redis-server
      expect(must(fixed).cpu.redisPct).toBeTypeOf("number");
      expectBooksBalance(must(fixed), 1);
    }
    const [summary, ...more] = report.rounds ?? [];
    expect(more).toEqual([]);
    expect(summary).toMatchObject({ phase: "fixed", targetRate: 200 });
    expect(must(summary).rounds).toHaveLength(2);
    for (const side of [must(summary).median.rocket, must(summary).median.baseline]) {
      expect(side.deliveriesPerSec).toBeGreaterThan(0);
      expect(side.lost).toBe(0);
    }
    expect(must(summary).median.ratio.p99Ms).toBeGreaterThan(0);
    expect(outcome.stdout).toContain("round 2 of 2");
    expect(outcome.stdout).toMatch(
      /rocket\/baseline, median of 2 rounds, fixed rate, 200 publishes\/s asked: server µs per delivery (\d+\.\d\d|-), p99 \d+\.\d\d/,
    );
  }, 150_000);
});
