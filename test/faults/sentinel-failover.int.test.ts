import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { audit, expectAcksKept, servedSince, stopAndFlush, unavailable, type Watched } from "../cluster/audit.js";
import {
  answeredAt,
  ContinuousPublisher,
  marginMs,
  publisher,
  publishTimeoutMs,
  readyz,
  recoveryBoundMs,
  secret,
  startNodes,
  subscriber,
  waitReady,
} from "../cluster/helpers.js";
import { type GatewayProc, type RedisSentinelProc, Resources, startRedisSentinel, until } from "../harness/index.js";
import { must } from "../harness/must.js";
import { tally } from "../history/helpers.js";
import { SdkPublisher, SdkSubscriber } from "../history/sdk-subscriber.js";

/** Channels starting with `h:` keep history; `plain` does not. */
const channels = JSON.stringify([{ Prefix: "h:", History: { Size: 10_000, TtlSeconds: 3600 } }]);

describe("cluster mode through Redis Sentinel: the master killed", () => {
  const resources = new Resources();
  let sentinel: RedisSentinelProc;
  let nodes: GatewayProc[];
  beforeAll(async () => {
    // Sentinels deem the master down after 1 s without an answer, and promote its replica.
    sentinel = resources.add(await startRedisSentinel({ downAfterMs: 1000 }), (s) => s.stop());
    nodes = await startNodes(resources, sentinel.url, 2, {
      ROCKET_PUBLISH_TIMEOUT_MS: String(publishTimeoutMs),
      ROCKET_CHANNELS: channels,
    });
  });
  afterAll(() => resources.close());

  it("runs the Redis bus through Sentinel", () => {
    for (const gw of nodes) {
      expect(gw.proc.lines.find((l) => l.includes('"msg":"listening"'))).toContain('"bus":"redis-sentinel"');
    }
  });

  it("answers publishes ok or unavailable while the replica is promoted, then serves it; the gateways follow without a restart", {
    timeout: 90_000,
  }, async () => {
    const [a, b] = nodes as [GatewayProc, GatewayProc];
    const pids = nodes.map((gw) => gw.proc.pid);
    // Without history: raw clients, audited message by message.
    const subs = await Promise.all(nodes.map((gw) => subscriber(resources, gw, "plain")));
    const watched: Watched[] = subs.map((client, k) => ({ name: `subscriber on ${"ab"[k]}`, client }));
    const publishers = [
      new ContinuousPublisher(await publisher(resources, a), "P", "plain"),
      new ContinuousPublisher(await publisher(resources, b), "Q", "plain"),
    ];
    // With history: SDK clients, which resubscribe with their position after a 4010.
    const historySubs = nodes.map((gw) => resources.add(new SdkSubscriber(gw.url(), "h:kept"), (s) => s.close()));
    await Promise.all(historySubs.map((s) => s.client.subscribe("h:kept")));
    const historyPub = resources.add(new SdkPublisher(b.url(), secret, "h:kept"), (p) => p.stop());

    const victim = sentinel.master;
    let killAt = 0;
    let failedOverAt = 0;
    try {
      const start = performance.now();
      await until(() => publishers.every((p) => p.acked(start).length >= 10), 5000, "publishes before the kill");
      await historyPub.waitForAcks(10);
      killAt = performance.now();
      await victim.kill9();
      // Not ready while the master is gone (docs/operations.md, "Redis Sentinel").
      const notReady = Promise.all(nodes.map((gw) => until(async () => (await readyz(gw)) === 503, 10_000, "/readyz 503", 20)));
      expect(await sentinel.waitForFailover(victim)).toBe(sentinel.replica);
      failedOverAt = performance.now();
      await notReady;
      // Served again by the promoted replica, found through the Sentinels.
      await until(() => servedSince(publishers, subs, failedOverAt), 20_000, "deliveries after the failover", 10);
      await historyPub.waitForAcks(20, 20_000);
    } finally {
      await stopAndFlush(publishers, watched, 20_000);
      await historyPub.stop();
    }

    // The master may have answered a publish and died before writing it to the subscribers:
    // only the last one each publisher had acknowledged (docs/operations.md, "Guarantees").
    const lastBeforeKill = new Set(
      publishers.map((p) =>
        p
          .acked()
          .filter((s) => s.sentAt < killAt)
          .pop(),
      ),
    );
    const report = audit(publishers, watched, (s) =>
      lastBeforeKill.has(s) ? "acknowledged as the master was killed" : undefined,
    );
    expectAcksKept("Sentinel failover", report, watched);
    const during = publishers.flatMap((p) => p.sent.filter((s) => s.sentAt > killAt && answeredAt(s) < failedOverAt));
    expect(during.filter((s) => s.reply === unavailable).length, "refused while the master was gone").toBeGreaterThan(0);

    // With history: each subscriber has every acknowledged message once, in order, or was
    // told of a gap (the replica had not yet received the master's last messages).
    await until(
      () => historySubs.every((s) => s.numbers.includes(historyPub.acked.at(-1) ?? -1)),
      15_000,
      "every history subscriber at the last acknowledged message",
    );
    const counts = historySubs.map((s) => ({ ...tally(historyPub.acked, s.numbers), told: s.gaps.length }));
    console.log(`Sentinel failover, channel with history: ${JSON.stringify(counts)}`);
    for (const [k, s] of historySubs.entries()) {
      expect(s.silentHoles(), "holes nobody was told of").toBe(0);
      expect(counts[k]).toMatchObject({ duplicated: 0, reordered: 0 });
      if (must(counts[k]).lost > 0) expect(must(counts[k]).told, "lost only with a gap told").toBeGreaterThan(0);
    }

    // The same processes serve, ready, within the recovery bound of the failover.
    expect(nodes.map((gw) => gw.proc.child.exitCode === null && gw.proc.pid)).toEqual(pids);
    await Promise.all(nodes.map((gw) => waitReady(gw, recoveryBoundMs + marginMs)));
    for (const gw of nodes) {
      expect(gw.proc.lines.some((l) => l.includes('"msg":"redis restarted: subscriptions and registry restored"'))).toBe(true);
    }
    expect(await sentinel.replica.cli("PUBSUB", "NUMSUB", "rocket:msg:/:plain")).toBe(`rocket:msg:/:plain\n${nodes.length}`);
  });
});
