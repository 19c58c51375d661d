import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { audit, expectAcksKept, loggedAt, servedSince, stopAndFlush, unavailable, type Watched } from "../cluster/audit.js";
import {
  answeredAt,
  ContinuousPublisher,
  marginMs,
  ok,
  publisher,
  publishTimeoutMs,
  readyz,
  recoveryBoundMs,
  secret,
  startNodes,
  subscriber,
} from "../cluster/helpers.js";
import {
  type GatewayProc,
  type RedisProc,
  Resources,
  startRedis,
  startTcpProxy,
  type TcpProxy,
  until,
} from "../harness/index.js";
import { must } from "../harness/must.js";
import { tally } from "../history/helpers.js";
import { SdkPublisher, SdkSubscriber } from "../history/sdk-subscriber.js";

/**
 * How long the partition lasts: the fault under test, so a plain timer. Twenty seconds is
 * ten times the longest wait in the bus (PublishTimeoutMs, the peer grace) and long past the
 * heartbeat's lifetime (3 s): every timer that could fire during a partition does, several
 * times over.
 */
const partitionMs = 20_000;

/** Documented canary timings (docs/operations.md): a period of 1 s. */
const canaryPeriodMs = 1000;

/** Channels starting with `h:` keep history (enough for the whole partition); `plain` does not. */
const channels = JSON.stringify([{ Prefix: "h:", History: { Size: 100_000, TtlSeconds: 3600 } }]);

describe("cluster mode: a silent network partition between one gateway and Redis", () => {
  const resources = new Resources();
  let redis: RedisProc;
  let proxy: TcpProxy;
  let cut: GatewayProc;
  let healthy: GatewayProc;
  beforeAll(async () => {
    redis = resources.add(await startRedis(), (r) => r.stop());
    proxy = resources.add(await startTcpProxy(redis.port), (p) => p.close());
    const env = { ROCKET_PUBLISH_TIMEOUT_MS: String(publishTimeoutMs), ROCKET_CHANNELS: channels };
    // One gateway reaches Redis through the proxy, the other directly.
    [cut, healthy] = await Promise.all([
      startNodes(resources, `redis://127.0.0.1:${proxy.port}`, 1, env).then(([gw]) => must(gw)),
      startNodes(resources, redis.url, 1, env).then(([gw]) => must(gw)),
    ]);
    const peerKnown = (gw: GatewayProc) => gw.proc.lines.some((l) => l.includes('"msg":"peer node joined"'));
    await until(() => peerKnown(cut) && peerKnown(healthy), 10_000, "each gateway knowing the other");
  });
  afterAll(() => resources.close());

  it("turns that gateway not ready, answering unavailable; its subscribers are kept whole (history) or miss what the docs say; it recovers by itself", {
    timeout: partitionMs + 60_000,
  }, async () => {
    const pid = cut.proc.pid;
    // Without history: raw clients, audited message by message.
    const subs = [await subscriber(resources, cut, "plain"), await subscriber(resources, healthy, "plain")];
    const watched: Watched[] = [
      { name: "subscriber on the cut gateway", client: must(subs[0]) },
      { name: "subscriber on the healthy gateway", client: must(subs[1]) },
    ];
    const onHealthy = new ContinuousPublisher(await publisher(resources, healthy), "H", "plain");
    const onCut = new ContinuousPublisher(await publisher(resources, cut), "C", "plain");
    // With history: SDK clients, which resubscribe with their position if ever closed.
    const historySubs = [cut, healthy].map((gw) => resources.add(new SdkSubscriber(gw.url(), "h:kept"), (s) => s.close()));
    await Promise.all(historySubs.map((s) => s.client.subscribe("h:kept")));
    const historyPub = resources.add(new SdkPublisher(healthy.url(), secret, "h:kept"), (p) => p.stop());

    let cutAt = 0;
    let healedAt = 0;
    let readyAgainAt = 0;
    try {
      const start = performance.now();
      await until(() => [onHealthy, onCut].every((p) => p.acked(start).length >= 10), 5000, "publishes before the partition");
      await historyPub.waitForAcks(10);
      cutAt = performance.now();
      proxy.blackhole(true);
      try {
        // The canary's publish gets no answer: not ready within a period and PublishTimeoutMs.
        const notReadyAt = await loggedAt(cut, /"msg":"bus not ready"/, cutAt, partitionMs);
        expect(notReadyAt - cutAt, "noticed").toBeLessThanOrEqual(canaryPeriodMs + publishTimeoutMs + marginMs);
        expect(await readyz(cut)).toBe(503);
        expect(await readyz(healthy)).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, partitionMs - (performance.now() - cutAt)));
      } finally {
        healedAt = performance.now();
        proxy.blackhole(false);
      }
      readyAgainAt = await loggedAt(cut, /"msg":"bus ready"/, healedAt, recoveryBoundMs + marginMs);
      await until(() => servedSince([onHealthy, onCut], subs, readyAgainAt), recoveryBoundMs + marginMs, "served again", 10);
      await historyPub.waitForAcks(20);
    } finally {
      await stopAndFlush([onHealthy, onCut], watched, 20_000);
      await historyPub.stop();
    }

    // The cut gateway answered every publish unavailable, each within PublishTimeoutMs, never ok.
    const during = onCut.sent.filter((s) => s.sentAt > cutAt && answeredAt(s) < healedAt);
    expect(during.length).toBeGreaterThan(10);
    expect(during.filter((s) => s.reply !== unavailable)).toEqual([]);
    expect(Math.max(...during.map((s) => answeredAt(s) - s.sentAt))).toBeLessThanOrEqual(publishTimeoutMs + marginMs);
    // The healthy one went on acknowledging.
    expect(onHealthy.sent.filter((s) => s.sentAt > cutAt && answeredAt(s) < healedAt && s.reply === ok).length).toBeGreaterThan(
      10,
    );

    // Without history, at most once: the cut gateway's subscriber may miss what Redis accepted
    // from the partition until its gateway was ready again; the healthy one misses nothing.
    const report = audit([onHealthy, onCut], watched, (s, name) =>
      name === must(watched[0]).name && answeredAt(s) >= cutAt && s.sentAt <= readyAgainAt ? "during the partition" : undefined,
    );
    expectAcksKept("silent partition, channel without history", report, watched);

    // With history: kept whole, on the same connection: the gateway read back what it missed.
    await until(
      () => historySubs.every((s) => s.numbers.includes(historyPub.acked.at(-1) ?? -1)),
      15_000,
      "every history subscriber at the last acknowledged message",
    );
    const counts = historySubs.map((s) => tally(historyPub.acked, s.numbers));
    console.log(`silent partition, channel with history: ${JSON.stringify(counts)}`);
    for (const [k, s] of historySubs.entries()) {
      expect(counts[k], `history subscriber ${k}`).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
      expect(s.closeCodes).toEqual([]);
      expect(s.gaps).toEqual([]);
    }
    // The same process, ready again.
    expect(cut.proc.child.exitCode === null && cut.proc.pid).toBe(pid);
    expect(await readyz(cut)).toBe(200);
  });
});
