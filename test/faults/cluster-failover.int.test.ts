import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { audit, expectAcksKept, servedSince, stopAndFlush, unavailable, type Watched } from "../cluster/audit.js";
import {
  answeredAt,
  ContinuousPublisher,
  channelPerShard,
  marginMs,
  ok,
  publisher,
  publishTimeoutMs,
  readyz,
  recoveryBoundMs,
  redisChannel,
  startNodes,
  subscriber,
  waitReady,
} from "../cluster/helpers.js";
import {
  type GatewayProc,
  type RedisClusterProc,
  type RedisProc,
  Resources,
  startRedisCluster,
  until,
} from "../harness/index.js";
import { must } from "../harness/must.js";

/** How often a gateway reads the Cluster's slot table (packages/bus/src/redis-link-cluster.ts). */
const slotsRefreshMs = 1000;

describe("cluster mode over a Redis Cluster with replicas: a master killed", () => {
  const resources = new Resources();
  let cluster: RedisClusterProc;
  let nodes: GatewayProc[];
  /** One channel per shard; the first one's master is killed. */
  let channels: string[];
  let owners: RedisProc[];
  beforeAll(async () => {
    // A short node timeout: the replica is promoted a second or two after its master died.
    cluster = resources.add(await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1000 }), (c) => c.stop());
    nodes = await startNodes(resources, cluster.url, 2, { ROCKET_PUBLISH_TIMEOUT_MS: String(publishTimeoutMs) });
    ({ channels, owners } = await channelPerShard(cluster, 3));
  });
  afterAll(() => resources.close());

  it("refuses the lost shard's publishes until its replica took over, then serves it; other shards lose nothing", {
    timeout: 60_000,
  }, async () => {
    const [a, b] = nodes as [GatewayProc, GatewayProc];
    const pids = nodes.map((gw) => gw.proc.pid);
    const subs = await Promise.all(nodes.map((gw) => subscriber(resources, gw, ...channels)));
    const watched: Watched[] = subs.map((client, k) => ({ name: `subscriber on ${"ab"[k]}`, client }));
    // One publisher per shard, on both gateways.
    const publishers = await Promise.all(
      channels.map(async (channel, k) => new ContinuousPublisher(await publisher(resources, k % 2 ? b : a), `S${k}`, channel)),
    );
    const [lostShard, ...otherShards] = publishers as [ContinuousPublisher, ...ContinuousPublisher[]];
    const victim = must(owners[0]);
    const replica = await cluster.replicaOf(victim);
    let killAt = 0;
    let failedOverAt = 0;
    try {
      const start = performance.now();
      await until(() => publishers.every((p) => p.acked(start).length >= 10), 5000, "publishes before the kill");
      killAt = performance.now();
      await victim.kill9();
      // Not ready while a shard is down (docs/operations.md, "Redis outage").
      const notReady = Promise.all(nodes.map((gw) => until(async () => (await readyz(gw)) === 503, 10_000, "/readyz 503", 20)));
      expect(await cluster.waitForFailover(victim)).toBe(replica);
      failedOverAt = performance.now();
      await notReady;
      // Served again: every subscriber gets a message of every shard sent after the failover.
      await until(() => servedSince(publishers, subs, failedOverAt), 20_000, "every shard served after the failover", 10);
    } finally {
      await stopAndFlush(publishers, watched, 20_000);
    }

    // As with a single Redis killed: the master may have answered a publish and died before
    // writing it to the subscribers; only the last one its publisher had acknowledged.
    const lastBeforeKill = lostShard
      .acked()
      .filter((s) => s.sentAt < killAt)
      .pop();
    const report = audit(publishers, watched, (s) =>
      s === lastBeforeKill ? "acknowledged as the master was killed" : undefined,
    );
    // Printed before the check, to read a failure by: a gateway that waited its 2 s for a peer
    // to resubscribe on the promoted replica and went on without it (docs/operations.md).
    const wentOn = nodes.map((gw) => gw.proc.lines.filter((line) => line.includes("going on without them")).length);
    console.log(`master killed: times each gateway went on without a peer: ${JSON.stringify(wentOn)}`);
    expectAcksKept("Redis Cluster master killed", report, watched);

    const replies = (p: ContinuousPublisher, from: number, to: number) => {
      const counts: Record<string, number> = {};
      for (const s of p.sent.filter((x) => x.sentAt > from && answeredAt(x) < to))
        counts[must(s.reply)] = (counts[must(s.reply)] ?? 0) + 1;
      return counts;
    };
    const during = publishers.map((p) => ({ shard: p.tag, replies: replies(p, killAt, failedOverAt) }));
    // The failover is seen by polling, somewhat after it happened: counts to read, not to assert.
    console.log(`master killed: replies between the kill and the failover seen ${JSON.stringify(during)}`);
    // The lost shard: refused while its master was gone (and only ok what was delivered, above).
    expect(must(during[0]).replies[unavailable]).toBeGreaterThan(0);
    // The other shards: not disturbed, every publish acknowledged.
    for (const p of otherShards) expect.soft(Object.keys(replies(p, 0, Number.POSITIVE_INFINITY)), p.tag).toEqual([ok]);
    // The gateways stayed up, in the same processes, and are ready. A gateway serves the
    // promoted replica's channels once resubscribed there, and turns ready once the other
    // gateways have too (or the 2 s peer grace passed): it may lag the deliveries above by as
    // much, plus the second the slot table takes to be read again.
    expect(nodes.map((gw) => gw.proc.child.exitCode === null && gw.proc.pid)).toEqual(pids);
    await Promise.all(nodes.map((gw) => waitReady(gw, slotsRefreshMs + recoveryBoundMs + marginMs)));
    expect(await cluster.shardNumSub(redisChannel(must(channels[0])))).toBe(nodes.length);
  });
});
