import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { publisher, subscriber } from "../cluster/helpers.js";
import { type GatewayProc, type RedisClusterProc, Resources, startRedisCluster, until } from "../harness/index.js";
import { api, heard, startServerNodes, userClient } from "./helpers.js";

describe("server side over a Redis Cluster (sharded pub/sub): 2 gateways, 3 masters", () => {
  const shared = new Resources();
  const resources = new Resources();
  let cluster: RedisClusterProc;
  let a: GatewayProc;
  let b: GatewayProc;
  beforeAll(async () => {
    cluster = shared.add(await startRedisCluster({ masters: 3 }), (c) => c.stop());
    [a, b] = (await startServerNodes(shared, cluster.url, 2)) as [GatewayProc, GatewayProc];
  });
  afterEach(() => resources.close());
  afterAll(() => shared.close());

  it("publishes through the API to subscribers on the other node, on channels of every shard, in order with WebSocket publishes", async () => {
    const channels = Array.from({ length: 6 }, (_, i) => `spread:${i}`);
    const sub = await subscriber(resources, b, ...channels);
    const ws = await publisher(resources, b);
    for (const channel of channels) {
      expect(await api(a, "POST", "/api/publish", { channel, event: "m", data: { n: 1 } })).toEqual({
        status: 200,
        body: { ok: true },
      });
      expect(await ws.publish(channel, "m", { n: 2 })).toEqual({ ok: true });
      expect(await api(a, "POST", "/api/publish", { channel, event: "m", data: { n: 3 } })).toEqual({
        status: 200,
        body: { ok: true },
      });
    }
    await sub.waitForDeliveries(18);
    for (const channel of channels) expect(heard(sub, channel)).toEqual(["m:1", "m:2", "m:3"]);
    expect((await api(b, "GET", "/api/channels?prefix=spread:")).body.channels).toHaveLength(6);
  });

  it("announces joins and leaves in the channel's shard and lists its users, with and without history", async () => {
    for (const channel of ["room:c1", "room:h:c2"]) {
      const watcher = await userClient(resources, a, "watcher");
      expect(await watcher.subscribe(channel)).toEqual({ ok: true });
      const alice = await userClient(resources, b, "alice");
      expect(await alice.subscribe(channel)).toEqual({ ok: true });
      await until(() => heard(watcher, channel).includes("__join:alice"), 5000, "alice's join");
      expect((await api(b, "GET", `/api/presence?channel=${channel}`)).body.users).toEqual(
        expect.arrayContaining([{ user: "alice", connections: 1 }]),
      );
      expect(await alice.publish(channel, "say", { n: 1 })).toEqual({ ok: true });
      alice.close();
      await until(() => heard(watcher, channel).includes("__leave:alice"), 5000, "alice's leave");
      expect(heard(watcher, channel)).toEqual(["__join:watcher", "__join:alice", "say:1", "__leave:alice"]);
      // On a channel with history the message carries its position, the joins and leaves none.
      const positioned = watcher.deliveries.filter((d) => d.channel === channel && "offset" in d).map((d) => d.event);
      expect(positioned).toEqual(channel.startsWith("room:h:") ? ["say"] : []);
      watcher.close();
    }
  });
});
