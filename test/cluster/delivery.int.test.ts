import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, type RedisProc, Resources, startGateway, startRedis, until } from "../harness/index.js";
import { must } from "../harness/must.js";
import { numSub, publisher, publishMany, readyz, redisChannel, startNodes, subscriber, waitReady } from "./helpers.js";

interface Tagged {
  p: string;
  i: number;
}

describe("cluster mode: 3 gateways, 1 Redis", () => {
  const shared = new Resources();
  const resources = new Resources();
  let redis: RedisProc;
  let a: GatewayProc;
  let b: GatewayProc;
  let c: GatewayProc;
  beforeAll(async () => {
    redis = shared.add(await startRedis(), (r) => r.stop());
    [a, b, c] = (await startNodes(shared, redis.url, 3)) as [GatewayProc, GatewayProc, GatewayProc];
  });
  afterEach(() => resources.close());
  afterAll(() => shared.close());

  it("delivers a publish on A to subscribers on A, B and C exactly once", async () => {
    const subs = await Promise.all([a, b, c].map((gw) => subscriber(resources, gw, "once")));
    const pub = await publisher(resources, a);
    expect(await pub.publish("once", "m", { n: 1 })).toEqual({ ok: true });
    expect(await pub.publish("once", "m", { n: 2 })).toEqual({ ok: true });
    for (const sub of subs) {
      expect(await sub.waitForDeliveries(2)).toEqual([
        { event: "m", channel: "once", data: { n: 1 } },
        { event: "m", channel: "once", data: { n: 2 } },
      ]);
    }
    // A third message arriving right after the second shows nothing else was in between or after.
    expect(await pub.publish("once", "m", { n: 3 })).toEqual({ ok: true });
    for (const sub of subs) {
      await sub.waitForDeliveries(3);
      expect(sub.deliveries.map((d) => (d.data as { n: number }).n)).toEqual([1, 2, 3]);
    }
  });

  it("gives every subscriber on every node all 1000 interleaved messages in one order", async () => {
    const subs = await Promise.all([a, a, b, b, c, c].map((gw) => subscriber(resources, gw, "order")));
    const [p1, p2] = await Promise.all([publisher(resources, a), publisher(resources, b)]);
    // Ten rounds of 50 from each publisher at once: both always have messages in flight
    // together, so the two streams interleave whatever the scheduler does within a round.
    const r1: unknown[] = [];
    const r2: unknown[] = [];
    for (let round = 0; round < 10; round++) {
      const [a1, a2] = await Promise.all([
        publishMany(must(p1), "order", (i) => ({ p: "A", i: round * 50 + i }), 50),
        publishMany(must(p2), "order", (i) => ({ p: "B", i: round * 50 + i }), 50),
      ]);
      r1.push(...a1);
      r2.push(...a2);
    }
    expect(r1).toHaveLength(500);
    expect(r1.every((r) => JSON.stringify(r) === '{"ok":true}')).toBe(true);
    expect(r2.every((r) => JSON.stringify(r) === '{"ok":true}')).toBe(true);

    // A marker from each publisher after its last message: once every subscriber has both,
    // anything delivered twice or late would have come before them.
    expect(await must(p1).publish("order", "m", { p: "A", i: 500 })).toEqual({ ok: true });
    expect(await must(p2).publish("order", "m", { p: "B", i: 500 })).toEqual({ ok: true });
    const hasMarkers = (sub: (typeof subs)[number]) =>
      ["A", "B"].every((p) => sub.deliveries.some((d) => (d.data as Tagged).p === p && (d.data as Tagged).i === 500));
    await until(() => subs.every(hasMarkers), 20_000, "both markers at every subscriber");
    const orders = subs.map((sub) => sub.deliveries.map((d) => d.data as Tagged).filter((m) => m.i < 500));
    const first = must(orders[0]);
    const ints = (p: string) => first.filter((m) => m.p === p).map((m) => m.i);
    const inOrder = Array.from({ length: 500 }, (_, i) => i);
    expect(ints("A")).toEqual(inOrder);
    expect(ints("B")).toEqual(inOrder);
    for (const order of orders) expect(order).toEqual(first);
    // Interleaved, not one publisher after the other (otherwise the order test proves little).
    const switches = first.filter((m, i) => i > 0 && m.p !== must(first[i - 1]).p).length;
    expect(switches).toBeGreaterThan(1);
    for (const sub of subs) expect(sub.deliveries).toHaveLength(1002);
  });

  it("answers invalid_channel cluster-wide and finds channels created on another node", async () => {
    const pubC = await publisher(resources, c);
    expect(await pubC.publish("never-created", "m", {})).toEqual({ err: "invalid_channel" });
    const sub = await subscriber(resources, a, "created-on-a");
    expect(await pubC.publish("created-on-a", "m", { x: 1 })).toEqual({ ok: true });
    expect(await sub.waitForDeliveries(1)).toEqual([{ event: "m", channel: "created-on-a", data: { x: 1 } }]);
    expect(await redis.cli("SISMEMBER", "rocket:channels:/", "created-on-a")).toBe("1");
    expect(await redis.cli("SISMEMBER", "rocket:channels:/", "never-created")).toBe("0");
    // Channels are never deleted: publishing still works with nobody subscribed.
    sub.close();
    expect(await pubC.publish("created-on-a", "m", { x: 2 })).toEqual({ ok: true });
    expect(await pubC.publish("never-created", "m", {})).toEqual({ err: "invalid_channel" });
  });

  it("unsubscribes a node from Redis when its last local subscriber leaves", async () => {
    const channel = redisChannel("counted");
    expect(await numSub(redis.cli, channel)).toBe(0);
    const [onB1, onB2] = await Promise.all([subscriber(resources, b, "counted"), subscriber(resources, b, "counted")]);
    const onC = await subscriber(resources, c, "counted");
    expect(await numSub(redis.cli, channel)).toBe(2);

    expect(await must(onB1).request({ unsubscribe: { channel: "counted" } })).toEqual({ ok: true });
    expect(await numSub(redis.cli, channel)).toBe(2);
    expect(await must(onB2).request({ unsubscribe: { channel: "counted" } })).toEqual({ ok: true });
    await until(async () => (await numSub(redis.cli, channel)) === 1, 5000, "B unsubscribed");
    onC.close();
    await until(async () => (await numSub(redis.cli, channel)) === 0, 5000, "C unsubscribed after its client left");
  });

  it("keeps serving when a gateway is killed with SIGKILL; the dead node's subscriptions vanish", async () => {
    const d = resources.add(await startGateway({ redisUrl: redis.url }), (g) => g.stop());
    await waitReady(d);
    const channel = redisChannel("victim");
    const survivors = await Promise.all([a, b, c].map((gw) => subscriber(resources, gw, "victim")));
    const onD = await subscriber(resources, d, "victim");
    expect(await numSub(redis.cli, channel)).toBe(4);

    d.proc.kill("SIGKILL");
    await d.proc.exited;
    await onD.closed;
    await until(async () => (await numSub(redis.cli, channel)) === 3, 5000, "the dead node's subscription gone");

    for (const gw of [a, b, c]) expect(await readyz(gw)).toBe(200);
    const pub = await publisher(resources, b);
    expect(await pub.publish("victim", "m", { after: "kill" })).toEqual({ ok: true });
    for (const sub of survivors)
      expect(await sub.waitForDeliveries(1)).toEqual([{ event: "m", channel: "victim", data: { after: "kill" } }]);
  });
});
