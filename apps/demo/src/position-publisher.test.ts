import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Position, PositionPublisher } from "./position-publisher.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function setup(intervalMs = 50) {
  const sent: Position[] = [];
  let connected = true;
  let fail = false;
  const publisher = new PositionPublisher({
    send: async (p) => {
      sent.push(p);
      if (fail) throw new Error("lost");
    },
    canSend: () => connected,
    intervalMs,
    now: () => Date.now(),
  });
  return {
    publisher,
    sent,
    setConnected: (v: boolean) => {
      connected = v;
    },
    setFail: (v: boolean) => {
      fail = v;
    },
  };
}

describe("PositionPublisher", () => {
  it("sends at most once per interval, and always the latest position in the end", async () => {
    const { publisher, sent } = setup(50);
    for (let i = 0; i <= 100; i++) {
      publisher.update({ x: i / 100, y: 0.5 });
      await vi.advanceTimersByTimeAsync(5);
    }
    await vi.advanceTimersByTimeAsync(100);
    expect(sent.length).toBeLessThanOrEqual(Math.ceil(505 / 50) + 1);
    expect(sent.length).toBeGreaterThanOrEqual(10);
    expect(sent.at(-1)).toEqual({ x: 1, y: 0.5 });
  });

  it("sends nothing when the position did not change", async () => {
    const { publisher, sent } = setup();
    publisher.update({ x: 0.2, y: 0.2 });
    await vi.advanceTimersByTimeAsync(100);
    publisher.update({ x: 0.2, y: 0.2 });
    publisher.update({ x: 0.20001, y: 0.2 });
    await vi.advanceTimersByTimeAsync(100);
    expect(sent).toEqual([{ x: 0.2, y: 0.2 }]);
  });

  it("holds the position while it cannot send, and sends only the newest on resume", async () => {
    const { publisher, sent, setConnected } = setup();
    setConnected(false);
    publisher.update({ x: 0.1, y: 0.1 });
    publisher.update({ x: 0.3, y: 0.3 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toEqual([]);
    setConnected(true);
    publisher.resume();
    expect(sent).toEqual([{ x: 0.3, y: 0.3 }]);
  });

  it("sends again after a failed send and on request", async () => {
    const { publisher, sent, setFail } = setup();
    setFail(true);
    publisher.update({ x: 0.5, y: 0.5 });
    await vi.advanceTimersByTimeAsync(100);
    setFail(false);
    publisher.resume();
    await vi.advanceTimersByTimeAsync(100);
    publisher.resend();
    await vi.advanceTimersByTimeAsync(100);
    expect(sent).toEqual([
      { x: 0.5, y: 0.5 },
      { x: 0.5, y: 0.5 },
      { x: 0.5, y: 0.5 },
    ]);
  });

  it("keeps positions on the board", () => {
    const { publisher, sent } = setup();
    publisher.update({ x: -3, y: 7 });
    expect(sent).toEqual([{ x: 0, y: 1 }]);
  });
});
