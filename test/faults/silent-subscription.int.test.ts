import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { audit, expectAcksKept, loggedAt, stopAndFlush, type Watched } from "../cluster/audit.js";
import {
  answeredAt,
  ContinuousPublisher,
  marginMs,
  publisher,
  publishTimeoutMs,
  readyz,
  recoveryBoundMs,
  type Sent,
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

/** Documented canary timings (docs/operations.md): a period of 1 s, and 1 s to come back. */
const canaryPeriodMs = 1000;
const canaryTimeoutMs = 1000;

async function canaryFailures(gw: GatewayProc): Promise<number> {
  const text = await (await fetch(gw.http("/metrics"))).text();
  return Number(/^rocket_bus_canary_failures_total (\d+)$/m.exec(text)?.[1]);
}

describe("cluster mode: a subscription that dies without an error", () => {
  const resources = new Resources();
  let redis: RedisProc;
  let proxy: TcpProxy;
  let muted: GatewayProc;
  let healthy: GatewayProc;
  beforeAll(async () => {
    redis = resources.add(await startRedis(), (r) => r.stop());
    proxy = resources.add(await startTcpProxy(redis.port), (p) => p.close());
    const env = { ROCKET_PUBLISH_TIMEOUT_MS: String(publishTimeoutMs) };
    // One node reaches Redis through the proxy; both are started together so that each knows the other.
    [muted, healthy] = await Promise.all([
      startNodes(resources, `redis://127.0.0.1:${proxy.port}`, 1, env).then(([gw]) => must(gw)),
      startNodes(resources, redis.url, 1, env).then(([gw]) => must(gw)),
    ]);
  });
  afterAll(() => resources.close());

  it("is caught by the canary, counted, and rebuilt; nothing acknowledged is lost but at that node meanwhile", async () => {
    const subs = [await subscriber(resources, muted, "s"), await subscriber(resources, healthy, "s")];
    const watched: Watched[] = [
      { name: "subscriber on the muted node", client: must(subs[0]) },
      { name: "subscriber on the healthy node", client: must(subs[1]) },
    ];
    const pub = new ContinuousPublisher(await publisher(resources, healthy), "P", "s");
    expect(await canaryFailures(muted)).toBe(0);
    let mutedAt = 0;
    let readyAt = 0;
    try {
      await until(() => pub.acked().length >= 10, 5000, "publishes before the fault");
      mutedAt = performance.now();
      expect(proxy.muteSubscribers()).toBe(1);
      const noticedAt = await loggedAt(muted, /"msg":"pub\/sub canary did not come back/, mutedAt);
      expect(noticedAt - mutedAt, "noticed within a canary period and timeout").toBeLessThanOrEqual(
        canaryPeriodMs + canaryTimeoutMs + marginMs,
      );
      expect(await canaryFailures(muted)).toBeGreaterThanOrEqual(1);
      await loggedAt(muted, /"reason":"pub\/sub canary lost","msg":"bus not ready"/, mutedAt);
      readyAt = await loggedAt(muted, /"msg":"bus ready"/, noticedAt);
      expect(readyAt - noticedAt, "resubscribed in time").toBeLessThanOrEqual(recoveryBoundMs + marginMs);
      await until(
        () => must(subs[0]).deliveries.some((d) => must(pub.sent[(d.data as Sent).i]).sentAt > readyAt),
        recoveryBoundMs + marginMs,
        "deliveries at the muted node again",
        10,
      );
    } finally {
      await stopAndFlush([pub], watched);
    }
    // At most once: the muted node's subscriber misses what Redis accepted until the node
    // resubscribed (docs/operations.md, "Redis outage"); the other node's misses nothing.
    const report = audit([pub], watched, (s, name) =>
      name === must(watched[0]).name && s.sentAt <= readyAt && answeredAt(s) >= mutedAt
        ? "while the subscription was dead"
        : undefined,
    );
    expectAcksKept("subscription died silently", report, watched);
    expect(await canaryFailures(healthy)).toBe(0);
    for (const gw of [muted, healthy]) expect(await readyz(gw)).toBe(200);
  });
});
