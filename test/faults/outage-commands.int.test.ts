import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  marginMs,
  numSub,
  publisher,
  publishTimeoutMs,
  readyz,
  redisChannel,
  subscriber,
  waitReady,
} from "../cluster/helpers.js";
import { type GatewayProc, type RedisProc, Resources, startGateway, startRedis, TestClient, until } from "../harness/index.js";

const ok = { ok: true };
const unavailable = { err: "unavailable" };

/** Sends one command and resolves with its reply and how long it took. */
async function timed(client: TestClient, frame: object): Promise<{ reply: unknown; ms: number }> {
  const start = performance.now();
  const reply = await client.request(frame, 10_000);
  return { reply, ms: performance.now() - start };
}

describe("cluster mode: every command while Redis is down, at the gateway", () => {
  const resources = new Resources();
  let redis: RedisProc;
  let gw: GatewayProc;
  beforeAll(async () => {
    redis = resources.add(await startRedis(), (r) => r.stop());
    gw = resources.add(
      await startGateway({ redisUrl: redis.url, env: { ROCKET_PUBLISH_TIMEOUT_MS: String(publishTimeoutMs) } }),
      (g) => g.stop(),
    );
    await waitReady(gw);
  });
  afterAll(() => resources.close());

  it("answers auth, unsubscribe, logout and disconnect as usual, subscribe and publish unavailable; subscriptions survive", async () => {
    const stays = await subscriber(resources, gw, "kept");
    const twice = await subscriber(resources, gw, "kept");
    const leaves = await subscriber(resources, gw, "kept");
    const writer = await publisher(resources, gw);
    const quitter = await publisher(resources, gw);

    await redis.kill9();
    await until(async () => (await readyz(gw)) === 503, 5000, "/readyz 503");
    const fresh = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    const answers = {
      authOnNewConnection: await timed(fresh, { auth: { access: "read-write", secret: "test-secret" } }),
      authWrongSecret: await timed(writer, { auth: { access: "read-write", secret: "wrong" } }),
      authAgain: await timed(writer, { auth: { access: "read-write", secret: "test-secret" } }),
      // Subscribing twice is one subscription: the one in place stays, nothing new is asked of Redis.
      subscribeTwice: await timed(twice, { subscribe: { channel: "kept" } }),
      subscribeNew: await timed(fresh, { subscribe: { channel: "new-in-outage" } }),
      subscribeKnownOnNode: await timed(fresh, { subscribe: { channel: "kept" } }),
      publish: await timed(writer, { publish: { event: "m", channel: "kept", data: "lost" } }),
      unsubscribe: await timed(leaves, { unsubscribe: { channel: "kept" } }),
      unsubscribeNever: await timed(leaves, { unsubscribe: { channel: "never" } }),
      logout: await timed(quitter, { logout: true }),
      publishAfterLogout: await timed(quitter, { publish: { event: "m", channel: "kept", data: "denied" } }),
      disconnect: await timed(quitter, { disconnect: true }),
    };
    // The same new subscription asked twice at once: neither may be ok, since neither is in place.
    fresh.send({ subscribe: { channel: "pipelined-in-outage" } });
    fresh.send({ subscribe: { channel: "pipelined-in-outage" } });
    const pipelined = [await fresh.nextReply(), await fresh.nextReply()];
    console.log(`commands during the outage: ${JSON.stringify({ ...answers, pipelined })}`);
    expect.soft(pipelined, "subscribe twice at once").toEqual([unavailable, unavailable]);
    const expected = {
      authOnNewConnection: ok,
      authWrongSecret: { err: "invalid_credentials" },
      authAgain: ok,
      subscribeTwice: ok,
      subscribeNew: unavailable,
      subscribeKnownOnNode: unavailable,
      publish: unavailable,
      unsubscribe: ok,
      unsubscribeNever: ok,
      logout: ok,
      publishAfterLogout: { err: "access_denied" },
      disconnect: ok,
    };
    expect(Object.fromEntries(Object.entries(answers).map(([k, v]) => [k, v.reply]))).toEqual(expected);
    for (const [name, { ms }] of Object.entries(answers)) {
      // Nothing waits longer than PublishTimeoutMs; what needs no Redis does not wait for it.
      const bound =
        JSON.stringify(expected[name as keyof typeof expected]) === JSON.stringify(unavailable) ? publishTimeoutMs : 0;
      expect(ms, name).toBeLessThanOrEqual(bound + marginMs);
    }
    expect((await quitter.closed).code).toBe(1000);
    for (const c of [stays, twice, leaves, writer, fresh]) expect(c.isOpen).toBe(true);

    await redis.restart();
    await until(async () => (await readyz(gw)) === 200, 10_000, "/readyz 200 after Redis returned");
    // Restored: one Redis subscription for the node, and each client subscribed before gets
    // each message once; the one that left during the outage gets nothing.
    expect(await numSub(redis.cli, redisChannel("kept"))).toBe(1);
    expect(await writer.publish("kept", "m", 1)).toEqual(ok);
    expect(await writer.publish("kept", "m", 2)).toEqual(ok);
    for (const c of [stays, twice]) await c.waitForDeliveries(2);
    // A round trip on each subscriber after the publishes: a duplicate would have come before it.
    for (const c of [stays, twice, leaves]) expect(await c.request({ logout: true })).toEqual(ok);
    expect(stays.deliveries.map((d) => d.data)).toEqual([1, 2]);
    expect(twice.deliveries.map((d) => d.data)).toEqual([1, 2]);
    expect(leaves.deliveries).toEqual([]);
    expect(await fresh.request({ subscribe: { channel: "new-in-outage" } })).toEqual(ok);
  });
});
