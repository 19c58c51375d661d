import { describe, expect, it } from "vitest";
import { ConnectionRates, RatePolicy } from "./rate-limits.js";

// 200 commands/s: the excess drains at 100/s and closes past 1000.
const policy = new RatePolicy({
  commandsPerSecond: 200,
  publishesPerSecond: 100,
  subscriptionsPerConnection: 10,
  authFailures: 3,
});

describe("ConnectionRates, excess of refused commands", () => {
  it("trips once more than the threshold is refused faster than it drains", () => {
    const rates = new ConnectionRates(policy, 0);
    let tripped = -1;
    for (let i = 0; i < 2000 && tripped < 0; i++) if (rates.refused(i)) tripped = i;
    // 1 per ms in, 0.1 per ms out: 1000 is passed after about 1111 ms.
    expect(tripped).toBeGreaterThan(1100);
    expect(tripped).toBeLessThan(1120);
  });

  it("never trips when refusals come slower than it drains", () => {
    const rates = new ConnectionRates(policy, 0);
    let tripped = false;
    for (let i = 0; i < 100_000; i++) tripped ||= rates.refused(i * 11);
    expect(tripped).toBe(false);
  });
});
