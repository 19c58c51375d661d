import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, type RedisProc, Resources, startRedis, until } from "../harness/index.js";
import { ContinuousPublisher, numSub, publisher, readyz, redisChannel, startNodes, subscriber } from "./helpers.js";

describe("cluster mode: subscriber connection killed from the Redis side", () => {
  const resources = new Resources();
  let redis: RedisProc;
  let nodes: GatewayProc[];
  beforeAll(async () => {
    redis = resources.add(await startRedis(), (r) => r.stop());
    nodes = await startNodes(resources, redis.url, 2);
  });
  afterAll(() => resources.close());

  it("recovers its subscriptions and delivers again within 3 s after CLIENT KILL TYPE pubsub", async () => {
    const subs = await Promise.all(nodes.map((gw) => subscriber(resources, gw, "k")));
    const pub = new ContinuousPublisher(await publisher(resources, nodes[0]!), "P", "k");
    try {
      await until(() => pub.acked().length >= 10, 5000, "publishes before the kill");
      // Every node's subscriber connection (and only those: publishes go on another one).
      const killed = Number(await redis.cli("CLIENT", "KILL", "TYPE", "pubsub"));
      expect(killed).toBe(nodes.length);
      const killedAt = performance.now();

      await until(
        () => subs.every((sub) => sub.deliveries.some((d) => pub.sent[(d.data as { i: number }).i]!.sentAt > killedAt)),
        10_000,
        "deliveries after the kill",
        10,
      );
      const recoveredMs = performance.now() - killedAt;
      expect(recoveredMs).toBeLessThan(3000);
    } finally {
      await pub.stop();
    }
    expect(await numSub(redis.cli, redisChannel("k"))).toBe(nodes.length);
    for (const gw of nodes) expect(await readyz(gw)).toBe(200);
    for (const client of [...subs, pub.client]) expect(client.isOpen).toBe(true);
  });
});
