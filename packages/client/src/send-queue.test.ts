import { describe, expect, it } from "vitest";
import { SendQueue } from "./send-queue.js";

describe("SendQueue", () => {
  it("keeps order and refuses past its limit", () => {
    const queue = new SendQueue<number>(2);
    expect(queue.push(1)).toBe(true);
    expect(queue.push(2)).toBe(true);
    expect(queue.push(3)).toBe(false);
    expect(queue.size).toBe(2);
    expect(queue.drain()).toEqual([1, 2]);
    expect(queue.size).toBe(0);
  });

  it("takes items back at the front whatever the limit", () => {
    const queue = new SendQueue<number>(2);
    queue.push(3);
    queue.push(4);
    queue.unshift([1, 2]);
    expect(queue.size).toBe(4);
    expect(queue.push(5)).toBe(false);
    expect(queue.shift()).toBe(1);
    expect(queue.drain()).toEqual([2, 3, 4]);
  });

  it("refuses everything with limit 0 and rejects a negative limit", () => {
    expect(new SendQueue<number>(0).push(1)).toBe(false);
    expect(() => new SendQueue<number>(-1)).toThrow(RangeError);
  });
});
