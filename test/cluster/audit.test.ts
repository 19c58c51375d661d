import { describe, expect, it } from "vitest";
import type { Delivery } from "../harness/index.js";
import { audit, unavailable } from "./audit.js";
import { ok, type Sent } from "./helpers.js";

// The audit decides whether a fault test fails: it must see every kind of broken promise.
const sent = (p: string, replies: string[]): { sent: Sent[] } => ({
  sent: replies.map((reply, i) => ({ p, i, sentAt: i, repliedAt: i + 0.5, reply })),
});
const got = (...keys: string[]): Delivery[] =>
  [...keys, "A:-1", "B:-1"].map((k) => {
    const [p, i] = k.split(":");
    return { event: "m", channel: "c", data: { p, i: Number(i) } };
  });
const sub = (name: string, deliveries: Delivery[]) => ({ name, client: { deliveries, isOpen: true } });

describe("audit of a fault test", () => {
  const publishers = [sent("A", [ok, ok, unavailable, ok]), sent("B", [ok, ok])];

  it("passes when every acknowledged message arrived once, in order, and counts the refused ones", () => {
    const report = audit(publishers, [
      sub("s1", got("A:0", "B:0", "A:1", "A:2", "B:1", "A:3")),
      sub("s2", got("A:0", "B:0", "A:1", "B:1", "A:3")),
    ]);
    expect(report).toMatchObject({ published: 6, acked: 5, unavailable: 1, unavailableDelivered: 1, lost: [], duplicates: [] });
    expect([...report.reordered, ...report.divergent, ...report.unknown, ...report.otherReplies]).toEqual([]);
  });

  it("finds an acknowledged message missing, unless excused", () => {
    const subs = [sub("s1", got("A:0", "A:1", "B:1", "A:3"))];
    expect(audit(publishers, subs).lost).toEqual(["B:0 at s1"]);
    const excused = audit(publishers, subs, (s) => (s.p === "B" && s.i === 0 ? "known gap" : undefined));
    expect(excused.lost).toEqual([]);
    expect(excused.excused).toEqual({ "known gap": 1 });
  });

  it("finds duplicates, reordering, disagreement between subscribers and strangers", () => {
    const report = audit(publishers, [
      sub("s1", got("A:0", "A:1", "B:0", "B:1", "A:3", "A:1")),
      sub("s2", got("A:1", "A:0", "B:0", "B:1", "A:3", "C:0")),
    ]);
    expect(report.duplicates).toEqual(["A:1 at s1"]);
    expect(report.reordered).toEqual(["A:0 at s2 after A:1"]);
    expect(report.divergent).toEqual(["c: s1 and s2"]);
    expect(report.unknown).toEqual(["C:0 at s2"]);
  });

  it("lists replies that are neither ok nor unavailable", () => {
    expect(audit([sent("A", [ok, '{"err":"invalid_channel"}'])], [sub("s", got("A:0"))]).otherReplies).toEqual([
      '{"err":"invalid_channel"}',
    ]);
  });
});
