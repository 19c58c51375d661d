import { describe, expect, it } from "vitest";
import { distribute } from "./coordinator.js";
import type { LoadOptions } from "./options.js";
import { channelFacts, publishesAt } from "./plan.js";
import { defaultWindow } from "./runner.js";
import { planScenario } from "./scenarios/index.js";

const load: LoadOptions = {
  subscribers: 10,
  connections: 1000,
  publishFraction: 0.1,
  ratePerSec: undefined,
  payloadBytes: 100,
  durationSec: 1,
  warmupSec: 1,
  churnPerSec: 10,
  churnHoldMs: 10,
  workers: 2,
  workerKind: "thread",
  sourceAddresses: "auto",
  connectConcurrency: 8,
  window: undefined,
  settleSec: 1,
  drainTimeoutMs: 1000,
  connectTimeoutMs: 1000,
};

describe("load plans", () => {
  it("spreads publishers evenly and always has one", () => {
    const count = (n: number, f: number) => Array.from({ length: n }, (_, i) => publishesAt(i, f)).filter(Boolean).length;
    expect(count(1000, 0.1)).toBe(100);
    expect(count(10, 0.01)).toBe(1);
    expect(count(19000, 0.01)).toBe(190);
  });

  it("fanout: one publisher and S subscribers on one channel, relayed between workers", () => {
    const plan = planScenario("fanout", load, ["ws://a/"]);
    const facts = channelFacts(plan.conns);
    expect(plan.conns).toHaveLength(11);
    expect(facts.subscribers.get("fanout")).toBe(10);
    expect([...facts.relayed]).toEqual(["fanout"]);
  });

  it("channels: each connection on its own channel paces itself", () => {
    const plan = planScenario("channels", load, ["ws://a/"]);
    const facts = channelFacts(plan.conns);
    expect(facts.subscribers.size).toBe(1000);
    expect(facts.publishers).toBe(100);
    expect(facts.relayed.size).toBe(0);
  });

  it("cross: subscribers on node A, the publisher on node B", () => {
    const plan = planScenario("cross", load, ["ws://a/", "ws://b/"]);
    expect(plan.conns.filter((c) => c.publish).map((c) => c.url)).toEqual(["ws://b/"]);
    expect(new Set(plan.conns.filter((c) => c.subscribe).map((c) => c.url))).toEqual(new Set(["ws://a/"]));
    expect(() => planScenario("cross", load, ["ws://a/"])).toThrow(/two servers/);
  });

  it("connections: processes, enough of them to stay under the open-file limit", () => {
    const plan = planScenario("connections", { ...load, connections: 19_000 }, ["ws://a/"]);
    expect(plan.workerKind).toBe("process");
    expect(plan.minWorkers * 20_000).toBeGreaterThan(19_000 * 1.5);
    expect(plan.measureIdle).toBe(true);
  });

  it("churn: a fanout plus connect-subscribe-disconnect cycles on its channel", () => {
    const plan = planScenario("churn", load, ["ws://a/"]);
    expect(plan.churn).toMatchObject({ channel: "churn", ratePerSec: 10 });
  });

  it("tells each relayed channel's publisher worker which workers hold its subscribers", () => {
    const plan = planScenario("fanout", load, ["ws://a/"]);
    const { perWorker, relays } = distribute(plan.conns, 3, channelFacts(plan.conns).relayed);
    expect(perWorker.map((w) => w.length)).toEqual([4, 4, 3]);
    expect(relays.get("fanout")).toEqual({ subscriberWorkers: [1, 2, 0], publisherWorker: 0 });
  });

  it("keeps a fan-out's deliveries in flight bounded", () => {
    expect(defaultWindow(100, 1000)).toBe(50);
    expect(defaultWindow(100, 10)).toBe(1456);
    expect(defaultWindow(100_000, 10)).toBe(4);
  });
});
