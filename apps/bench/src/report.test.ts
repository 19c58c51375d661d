import { describe, expect, it } from "vitest";
import { limitedBy, othersPct } from "./limited-by.js";
import { cpuMicrosPerDelivery, formatRuns, headline, ratio, renderTable, unaccounted } from "./report.js";
import type { PhaseResult, RunResult } from "./results.js";
import { formatRounds, median, summarizeRounds } from "./rounds.js";

function phase(name: PhaseResult["name"], deliveryRate: number, overrides: Partial<PhaseResult> = {}): PhaseResult {
  return {
    name,
    targetRate: name === "peak" ? undefined : 100,
    seconds: 5,
    publishRate: deliveryRate / 10,
    deliveryRate,
    published: 1000,
    acks: 1000,
    errors: 0,
    firstError: undefined,
    expected: 10_000,
    received: 10_000,
    lost: 0,
    duplicates: 0,
    latency: { count: 10_000, p50Ms: 0.5, p99Ms: 2, p999Ms: 4, maxMs: 5, meanMs: 0.6 },
    dropped: 0,
    closeCodes: {},
    cpu: { serversPct: [95], redisPct: undefined, loadPct: 60, loadThreadPct: 40, machineBusyPct: 80, othersPct: 5 },
    limitedBy: "server CPU (95% of a core)",
    churn: undefined,
    ...overrides,
  };
}

function run(target: string, peak: number, phases?: PhaseResult[]): RunResult {
  return {
    scenario: "fanout",
    target,
    description: "10 subscribers on one channel, 1 publisher",
    urls: ["ws://127.0.0.1:1/"],
    payloadBytes: 100,
    workers: 2,
    workerKind: "thread",
    connections: { requested: 11, opened: 11, failed: 0, firstError: undefined, openMs: 100, perSec: 110 },
    idle: undefined,
    phases: phases ?? [phase("peak", peak), phase("half", peak / 2)],
  };
}

describe("report", () => {
  it("aligns a table: labels left, numbers right", () => {
    expect(
      renderTable([
        ["", "a", "bb"],
        ["rate", "1", "200"],
      ]),
    ).toBe("      a   bb\nrate  1  200");
  });

  it("computes ratios and refuses to divide by nothing", () => {
    expect(ratio(90, 100)).toBeCloseTo(0.9);
    expect(ratio(1, 0)).toBeUndefined();
    expect(ratio(undefined, 1)).toBeUndefined();
  });

  it("prints both servers side by side with the ratio of the first to the second", () => {
    const text = formatRuns([run("rocket", 900_000), run("baseline", 1_000_000)]);
    expect(text).toContain("rocket/baseline");
    expect(text).toMatch(/peak: deliveries\/s\s+900,000\s+1,000,000\s+0\.90/);
    expect(text).toMatch(/half rate: latency p99 ms\s+2\.00\s+2\.00\s+1\.00/);
    expect(text).toContain("rocket/baseline peak deliveries/s: 900,000 / 1,000,000 = 0.90");
    expect(text).toContain("peak rocket: limited by server CPU");
    expect(text).not.toContain("WARNING");
    expect(text).not.toContain("churn");
  });

  it("checks that the counts add up", () => {
    const ok = phase("peak", 1);
    expect(unaccounted(ok)).toBe(0);
    const lossy = phase("peak", 1, { received: 9_990, lost: 10 });
    expect(unaccounted(lossy)).toBe(0);
    const off = phase("peak", 1, { received: 9_000, lost: 10 });
    expect(unaccounted(off)).toBe(990);
    expect(formatRuns([run("x", 1, [off])])).toContain("WARNING x peak: 990 deliveries unaccounted for");
  });

  it("shows churn rows only when a run churned", () => {
    const churn = { cycles: 100, failures: 0, cyclesPerSec: 20, deliveries: 5, subscribeLatency: phase("peak", 1).latency };
    const text = formatRuns([run("x", 10, [phase("peak", 10, { churn })])]);
    expect(text).toMatch(/peak: churn cycles\/s\s+20/);
  });

  it("charges server CPU per delivery over all nodes", () => {
    const p = phase("peak", 1_000_000, {
      cpu: { serversPct: [50, 30], redisPct: 90, loadPct: 99, loadThreadPct: 60, machineBusyPct: 99, othersPct: 0 },
    });
    expect(cpuMicrosPerDelivery(p)).toBeCloseTo(0.8);
    expect(cpuMicrosPerDelivery(phase("peak", 0))).toBeUndefined();
    expect(cpuMicrosPerDelivery(phase("peak", 1, { cpu: { ...p.cpu, serversPct: [undefined] } }))).toBeUndefined();
  });

  it("estimates the CPU taken by other programs", () => {
    const cpu = { serversPct: [80], redisPct: 10, loadPct: 90, loadThreadPct: 50, machineBusyPct: 100, othersPct: undefined };
    expect(othersPct(cpu, 2)).toBe(20);
    expect(othersPct({ ...cpu, machineBusyPct: 50 }, 2)).toBe(0);
    expect(othersPct({ ...cpu, machineBusyPct: undefined }, 2)).toBeUndefined();
  });

  it("headlines the latency at a fixed rate when there is no peak", () => {
    const a = run("a", 1, [phase("fixed", 10)]);
    const b = run("b", 1, [phase("fixed", 10, { latency: { ...phase("fixed", 1).latency, p99Ms: 4 } })]);
    expect(headline(a, b)).toBe("a/b p99 latency at 100/s: 2.00 / 4.00 ms");
  });

  it("names what limited a phase from where the CPU went", () => {
    const cpu = (server: number, load: number, machine: number, redis?: number) => ({
      serversPct: [server],
      redisPct: redis,
      loadPct: load,
      loadThreadPct: load / 2,
      machineBusyPct: machine,
      othersPct: 0,
    });
    expect(limitedBy("peak", cpu(99, 50, 80), undefined, 1)).toMatch(/^server CPU/);
    expect(limitedBy("peak", cpu(50, 50, 80, 95), undefined, 1)).toMatch(/^Redis CPU/);
    expect(limitedBy("peak", cpu(60, 80, 97), undefined, 1)).toMatch(/^shared CPU/);
    expect(limitedBy("peak", cpu(60, 190, 97), undefined, 1)).toMatch(/^client CPU \(busiest load thread 95%/);
    expect(limitedBy("half", cpu(30, 30, 40), 100, 100)).toBe("the fixed rate asked");
    expect(limitedBy("half", cpu(99, 30, 40), 100, 50)).toMatch(/^server CPU/);
  });
});

describe("comparison over rounds", () => {
  const fixed = (deliveryRate: number, serverPct: number, p99Ms: number) =>
    phase("fixed", deliveryRate, {
      targetRate: 10_000,
      cpu: { ...phase("fixed", 1).cpu, serversPct: [serverPct] },
      latency: { ...phase("fixed", 1).latency, p99Ms },
    });

  it("takes the middle of what was measured", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([undefined, 5])).toBe(5);
    expect(median([])).toBeUndefined();
  });

  it("pairs the runs round by round and gives each side's median and the median ratio", () => {
    // server µs per delivery: rocket 44, 40, 48; baseline 33, 40, 32
    const runs = [
      run("rocket", 0, [fixed(10_000, 44, 5)]),
      run("baseline", 0, [fixed(10_000, 33, 4)]),
      run("rocket", 0, [fixed(10_000, 40, 5)]),
      run("baseline", 0, [fixed(10_000, 40, 5)]),
      run("rocket", 0, [fixed(10_000, 48, 6)]),
      run("baseline", 0, [fixed(10_000, 32, 4)]),
    ];
    const [summary, ...more] = summarizeRounds(runs);
    expect(more).toEqual([]);
    expect(summary?.phase).toBe("fixed");
    expect(summary?.targetRate).toBe(10_000);
    expect(summary?.rounds.map((r) => r.ratio.serverMicrosPerDelivery)).toEqual([44 / 33, 1, 1.5]);
    expect(summary?.median.rocket.serverMicrosPerDelivery).toBeCloseTo(44);
    expect(summary?.median.baseline.serverMicrosPerDelivery).toBeCloseTo(33);
    expect(summary?.median.ratio.serverMicrosPerDelivery).toBeCloseTo(44 / 33);
    expect(summary?.median.ratio.p99Ms).toBeCloseTo(1.25);
    expect(summary?.median.ratio.lost).toBeUndefined();

    const text = formatRounds(summarizeRounds(runs));
    expect(text).toContain("3 rounds, rocket and baseline alternating");
    expect(text).toContain("fixed rate, 10,000 publishes/s asked:");
    expect(text).toMatch(/round 2 ratio\s+1\.00\s+1\.00/);
    expect(text).toMatch(/median rocket\s+10,000\s+44\.00/);
    expect(text).toMatch(/median baseline\s+10,000\s+33\.00/);
    expect(text).toContain(
      "rocket/baseline, median of 3 rounds, fixed rate, 10,000 publishes/s asked: server µs per delivery 1.33, p99 1.25",
    );
    expect(text).not.toContain("Redis");
    expect(text).not.toContain("idle");
  });

  it("shows Redis and idle memory where the runs measured them", () => {
    const clustered = (target: string, redisPct: number, rss: number): RunResult => ({
      ...run(target, 0, [phase("fixed", 1000, { cpu: { ...phase("fixed", 1).cpu, redisPct } })]),
      idle: { held: 100, serverRssBeforeBytes: 0, serverRssAfterBytes: rss * 100, rssPerConnectionBytes: rss },
    });
    const text = formatRounds(summarizeRounds([clustered("rocket", 10, 3072), clustered("baseline", 20, 2048)]));
    expect(text).toMatch(/Redis µs\/delivery.*idle RSS\/conn/);
    expect(text).toMatch(/round 1 rocket .*100\.00 .*3\.00 KiB/);
    expect(text).toMatch(/idle RSS per connection 1\.50$/);
  });
});
