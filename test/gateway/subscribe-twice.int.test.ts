import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, type RedisProc, Resources, startGateway, startRedis, TestClient } from "../harness/index.js";

const ok = { ok: true };

describe.each([
  { name: "one gateway, in-process bus", redis: false },
  { name: "cluster mode", redis: true },
])("subscribing twice is one subscription: $name", ({ redis: withRedis }) => {
  const resources = new Resources();
  let gw: GatewayProc;
  let redis: RedisProc | undefined;
  let pub: TestClient;
  beforeAll(async () => {
    redis = withRedis ? resources.add(await startRedis(), (r) => r.stop()) : undefined;
    gw = resources.add(await startGateway(redis ? { redisUrl: redis.url } : {}), (g) => g.stop());
    pub = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    expect(await pub.auth("read-write", "test-secret")).toEqual(ok);
  });
  afterAll(() => resources.close());

  const reader = async () => {
    const c = resources.add(await TestClient.connect(gw.url()), (x) => x.close());
    expect(await c.auth("read-only", "")).toEqual(ok);
    return c;
  };
  const redisSubscriptions = async (channel: string) =>
    redis ? Number((await redis.cli("PUBSUB", "NUMSUB", `rocket:msg:/:${channel}`)).split("\n")[1]) : undefined;

  it("delivers each message once, and one unsubscribe ends it", async () => {
    const c = await reader();
    expect(await c.subscribe("twice")).toEqual(ok);
    expect(await c.subscribe("twice")).toEqual(ok);
    if (redis) expect(await redisSubscriptions("twice")).toBe(1);
    expect(await pub.publish("twice", "m", 1)).toEqual(ok);
    expect(await pub.publish("twice", "m", 2)).toEqual(ok);
    await c.waitForDeliveries(2);
    // A round trip after the deliveries: a second copy would have arrived before its reply.
    expect(await c.request({ unsubscribe: { channel: "twice" } })).toEqual(ok);
    expect(await pub.publish("twice", "m", 3)).toEqual(ok);
    expect(await c.request({ logout: true })).toEqual(ok);
    expect(c.deliveries.map((d) => d.data)).toEqual([1, 2]);
    if (redis) expect(await redisSubscriptions("twice")).toBe(0);
  });

  it("is one subscription also when both requests are in flight at once", async () => {
    const c = await reader();
    c.send({ subscribe: { channel: "pipelined" } });
    c.send({ subscribe: { channel: "pipelined" } });
    expect([await c.nextReply(), await c.nextReply()]).toEqual([ok, ok]);
    expect(await pub.publish("pipelined", "m", 1)).toEqual(ok);
    await c.waitForDeliveries(1);
    expect(await c.request({ logout: true })).toEqual(ok);
    expect(c.deliveries.map((d) => d.data)).toEqual([1]);
  });
});
