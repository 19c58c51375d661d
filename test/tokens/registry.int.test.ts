import { afterAll, describe, expect, it } from "vitest";
import { type GatewayProc, Resources, startGateway, startRedis, TestClient, until } from "../harness/index.js";

const resources = new Resources();
afterAll(() => resources.close());

async function metric(gw: GatewayProc, name: string): Promise<number> {
  const text = await (await fetch(gw.http("/metrics"))).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(" ")[1]);
}

/** Subscribes to and leaves `count` distinct channels from one read-only client, 500 frames at a time. */
async function flood(c: TestClient, count: number): Promise<void> {
  for (let i = 0; i < count; i += 250) {
    for (let j = i; j < Math.min(count, i + 250); j++) {
      c.send({ subscribe: { channel: `flood-${j}` } });
      c.send({ unsubscribe: { channel: `flood-${j}` } });
    }
    for (let j = i; j < Math.min(count, i + 250); j++) {
      expect(await c.nextReply()).toEqual({ ok: true });
      expect(await c.nextReply()).toEqual({ ok: true });
    }
  }
}

const limits = { ChannelTtlSeconds: 4, MaxCommandsPerSecond: 100_000 };

describe("the channel registry under a flood of channel names", () => {
  it("forgets them in Redis a TTL later, cluster-wide, keeping channels in use", async () => {
    const redis = resources.add(await startRedis(), (r) => r.stop());
    const [a, b] = await Promise.all(
      [0, 1].map(async () => resources.add(await startGateway({ redisUrl: redis.url, config: limits }), (g) => g.stop())),
    );
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.cli("INFO", "memory"))?.[1]);
    const baseline = await usedMemory();

    const holder = resources.add(await TestClient.connect((b as GatewayProc).url()), (c) => c.close());
    expect(await holder.auth("read-only", "")).toEqual({ ok: true });
    expect(await holder.subscribe("kept")).toEqual({ ok: true });
    const anon = resources.add(await TestClient.connect((a as GatewayProc).url()), (c) => c.close());
    expect(await anon.auth("read-only", "")).toEqual({ ok: true });
    await flood(anon, 3000);

    // Most of them, at least (the first may expire while the last are made on a slow machine).
    const registered = Number(await redis.cli("SCARD", "rocket:channels:/"));
    expect(registered).toBeGreaterThan(1500);
    expect(Number(await redis.cli("ZCARD", "{rocket:channels:/}:active"))).toBe(registered);
    const keyBytes = async () =>
      Number(await redis.cli("MEMORY", "USAGE", "rocket:channels:/")) +
      Number(await redis.cli("MEMORY", "USAGE", "{rocket:channels:/}:active"));
    const flooded = await keyBytes();
    const floodedMemory = await usedMemory();
    expect(flooded).toBeGreaterThan(registered * 20);
    expect(floodedMemory - baseline).toBeGreaterThan(registered * 20);
    expect(await metric(a as GatewayProc, "rocket_bus_registry_channels")).toBeGreaterThan(1500);

    await until(async () => (await redis.cli("SCARD", "rocket:channels:/")) === "1", 20_000, "the flood to expire", 200);
    expect(await redis.cli("SMEMBERS", "rocket:channels:/")).toBe("kept");
    expect(await redis.cli("ZRANGE", "{rocket:channels:/}:active", "0", "-1")).toBe("kept");
    // Redis keeps some of a shrunk set's hash table: most of the memory comes back, not all.
    expect(await keyBytes()).toBeLessThan(flooded / 4);
    expect(floodedMemory - (await usedMemory())).toBeGreaterThan(flooded / 2);
    // Each node's cache forgets them too; the one holding `kept` still knows it.
    await until(async () => (await metric(a as GatewayProc, "rocket_bus_registry_channels")) === 0, 10_000, "node a's cache");
    expect(await metric(b as GatewayProc, "rocket_bus_registry_channels")).toBe(1);
    const expired =
      (await metric(a as GatewayProc, "rocket_bus_registry_expired_total")) +
      (await metric(b as GatewayProc, "rocket_bus_registry_expired_total"));
    expect(expired).toBe(3000);

    const rw = resources.add(await TestClient.connect((a as GatewayProc).url()), (c) => c.close());
    expect(await rw.auth("read-write", "test-secret")).toEqual({ ok: true });
    expect(await rw.publish("flood-7", "e", 1)).toEqual({ err: "invalid_channel" });
    expect(await rw.publish("kept", "e", 1)).toEqual({ ok: true });
    expect((await holder.waitForDeliveries(1))[0]).toMatchObject({ channel: "kept" });
  });

  it("forgets them on a single node without Redis too", async () => {
    const gw = resources.add(await startGateway({ config: limits }), (g) => g.stop());
    const anon = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    expect(await anon.auth("read-only", "")).toEqual({ ok: true });
    expect(await anon.subscribe("kept")).toEqual({ ok: true });
    await flood(anon, 2000);
    expect(await metric(gw, "rocket_bus_registry_channels")).toBeGreaterThan(1000);
    await until(async () => (await metric(gw, "rocket_bus_registry_channels")) === 1, 15_000, "the flood to expire", 200);
    expect(await metric(gw, "rocket_bus_registry_expired_total")).toBe(2000);
    const rw = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    expect(await rw.auth("read-write", "test-secret")).toEqual({ ok: true });
    expect(await rw.publish("flood-1", "e", 1)).toEqual({ err: "invalid_channel" });
    expect(await rw.publish("kept", "e", 1)).toEqual({ ok: true });
  });
});
