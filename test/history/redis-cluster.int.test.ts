import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hashSlot } from "../../packages/bus/src/redis-slot.js";
import {
  type GatewayProc,
  type RedisClusterProc,
  type RedisProc,
  Resources,
  startGateway,
  startRedisCluster,
  until,
} from "../harness/index.js";
import { connect, filled, historyConfig, type Position, positioned, secret, subscribeSince, tally } from "./helpers.js";
import { SdkPublisher, SdkSubscriber } from "./sdk-subscriber.js";

/** The Redis names of a channel with history in the default hub. */
const keysOf = (channel: string) => ({
  meta: `rocket:meta:{/:${channel}}`,
  stream: `rocket:history:{/:${channel}}`,
  channel: `rocket:msg:{/:${channel}}`,
});

describe("history on Redis Cluster", () => {
  const shared = new Resources();
  const resources = new Resources();
  let cluster: RedisClusterProc;
  let a: GatewayProc;
  let b: GatewayProc;
  /** One channel per master, so that every shard takes part. */
  const channels: string[] = [];
  const owners: RedisProc[] = [];

  beforeAll(async () => {
    cluster = shared.add(await startRedisCluster({ masters: 3 }), (c) => c.stop());
    const start = async () => shared.add(await startGateway({ config: historyConfig(), redisUrl: cluster.url }), (g) => g.stop());
    [a, b] = await Promise.all([start(), start()]);
    for (let i = 0; channels.length < cluster.masters.length && i < 1000; i++) {
      const owner = await cluster.ownerOf(keysOf(`h:c${i}`).stream);
      if (owners.includes(owner)) continue;
      owners.push(owner);
      channels.push(`h:c${i}`);
    }
  });
  afterEach(() => resources.close());
  afterAll(() => shared.close());

  it("keeps a channel's stream, meta and pub/sub channel on one shard, and recovers on every shard", async () => {
    const starts: Position[] = [];
    for (const [k, channel] of channels.entries()) {
      const owner = owners[k] as RedisProc;
      const probe = await connect(resources, b);
      starts.push((await subscribeSince(probe, channel, {})) as unknown as Position);
      const keys = keysOf(channel);
      expect(new Set(Object.values(keys).map(hashSlot)).size, channel).toBe(1);
      // The subscription is on the owner of the keys' slot: its shard channel has b's subscriber.
      expect(await owner.cli("PUBSUB", "SHARDNUMSUB", keys.channel), channel).toBe(`${keys.channel}\n1`);
      probe.close();
    }
    const pub = await connect(resources, a);
    for (const channel of channels) {
      for (let i = 0; i < 200; i++) pub.send({ publish: { event: "m", channel, data: { i } } });
    }
    for (let i = 0; i < 200 * channels.length; i++) expect(await pub.nextReply()).toEqual({ ok: true });
    for (const [k, channel] of channels.entries()) {
      const owner = owners[k] as RedisProc;
      expect(await owner.cli("XLEN", keysOf(channel).stream)).toBe("200");
      expect(await owner.cli("EXISTS", keysOf(channel).meta)).toBe("1");
      const start = starts[k] as Position;
      const back = await connect(resources, b);
      expect(await subscribeSince(back, channel, start)).toEqual({
        ok: true,
        recovered: true,
        offset: start.offset + 200,
        epoch: start.epoch,
      });
      await back.waitForDeliveries(200);
      const got = positioned(back, channel).map((d) => (d.data as { i: number }).i);
      expect(
        tally(
          Array.from({ length: 200 }, (_, i) => i),
          got,
        ),
      ).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    }
  });

  it("follows a slot move with the history's keys while publishing: subscribers on every node miss nothing", async () => {
    const channel = channels[0] as string;
    const from = owners[0] as RedisProc;
    const to = owners[1] as RedisProc;
    const subs = [a, b, a, b].map((gw) => new SdkSubscriber(gw.url(), channel));
    resources.add(subs, (all) => Promise.all(all.map((s) => s.close())).then(() => {}));
    await Promise.all(subs.map((s) => s.client.subscribe(channel)));
    const pub = resources.add(new SdkPublisher(b.url(), secret, channel, 3), (p) => p.stop());
    await pub.waitForAcks(50);

    const keys = keysOf(channel);
    const slot = await from.cli("CLUSTER", "KEYSLOT", keys.stream);
    const [fromId, toId] = await Promise.all([from.cli("CLUSTER", "MYID"), to.cli("CLUSTER", "MYID")]);
    await to.cli("CLUSTER", "SETSLOT", slot, "IMPORTING", fromId);
    await from.cli("CLUSTER", "SETSLOT", slot, "MIGRATING", toId);
    await pub.waitForAcks(20);
    await from.cli("MIGRATE", "127.0.0.1", String(to.port), "", "0", "5000", "KEYS", keys.meta, keys.stream);
    for (const master of cluster.masters) await master.cli("CLUSTER", "SETSLOT", slot, "NODE", toId);
    expect(await (await cluster.ownerOf(keys.stream)).cli("CLUSTER", "MYID")).toBe(toId);
    await pub.waitForAcks(100, 20_000);
    await pub.stop();

    const last = pub.acked.at(-1) ?? -1;
    await until(() => subs.every((s) => s.numbers.includes(last)), 20_000, "every subscriber at the last acknowledged message");
    for (const s of subs) expect(tally(pub.acked, s.numbers)).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    for (const s of subs) expect(s.gaps).toEqual([]);
    // The history moved with the slot, and the nodes read back what the move cost them.
    expect(Number(await to.cli("XLEN", keys.stream))).toBeGreaterThan(0);
    expect(filled(a) + filled(b), "messages read back after the move").toBeGreaterThan(0);
  });
});
