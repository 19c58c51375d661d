import { describe, expect, it } from "vitest";
import { RateMeter } from "./rate-meter.js";

describe("RateMeter", () => {
  it("counts the events of the last second", () => {
    let t = 0;
    const meter = new RateMeter(1000, () => t);
    meter.add();
    meter.add(4);
    expect(meter.perSecond()).toBe(5);
    t = 500;
    meter.add(5);
    expect(meter.perSecond()).toBe(10);
    t = 1050;
    expect(meter.perSecond()).toBe(5);
    t = 1600;
    expect(meter.perSecond()).toBe(0);
  });

  it("forgets everything after a long pause", () => {
    let t = 0;
    const meter = new RateMeter(1000, () => t);
    meter.add(100);
    t = 60_000;
    expect(meter.perSecond()).toBe(0);
    meter.add(3);
    expect(meter.perSecond()).toBe(3);
  });
});
