import { describe, expect, it } from "vitest";
import { mayReconnect, ReconnectPolicy } from "./reconnect.js";

const options = { initialDelayMs: 100, maxDelayMs: 1000, maxAttempts: 3 };

describe("ReconnectPolicy", () => {
  it("moves to the next URL on every attempt and wraps around", () => {
    const policy = new ReconnectPolicy(["ws://a/", "ws://b/", "ws://c/"], { ...options, maxAttempts: 10 }, () => 0.5);
    expect(policy.url).toBe("ws://a/");
    expect([policy.next()?.url, policy.next()?.url, policy.next()?.url]).toEqual(["ws://b/", "ws://c/", "ws://a/"]);
  });

  it("backs off exponentially, counts attempts from 1, and gives up after maxAttempts", () => {
    const policy = new ReconnectPolicy(["ws://a/"], options, () => 0.5);
    expect(policy.next()).toEqual({ url: "ws://a/", delayMs: 50, attempt: 1 });
    expect(policy.next()).toEqual({ url: "ws://a/", delayMs: 100, attempt: 2 });
    expect(policy.next()).toEqual({ url: "ws://a/", delayMs: 200, attempt: 3 });
    expect(policy.next()).toBeUndefined();
  });

  it("starts over after reset", () => {
    const policy = new ReconnectPolicy(["ws://a/"], options, () => 0.5);
    policy.next();
    policy.next();
    policy.reset();
    expect(policy.next()).toEqual({ url: "ws://a/", delayMs: 50, attempt: 1 });
  });

  it("never reconnects without options", () => {
    expect(new ReconnectPolicy(["ws://a/"], undefined, Math.random).next()).toBeUndefined();
  });

  it("refuses an empty URL list", () => {
    expect(() => new ReconnectPolicy([], options, Math.random)).toThrow(TypeError);
  });
});

describe("mayReconnect", () => {
  it("forbids exactly the 4500–4999 range", () => {
    expect([1000, 1001, 1006, 1011, 4000, 4008, 4499, 5000].every(mayReconnect)).toBe(true);
    expect([4500, 4700, 4999].some(mayReconnect)).toBe(false);
  });
});
