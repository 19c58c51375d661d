import { afterEach, describe, expect, it } from "vitest";
import { audit, expectAcksKept, servedSince, stopAndFlush, unavailable, type Watched } from "../cluster/audit.js";
import {
  answeredAt,
  ContinuousPublisher,
  marginMs,
  ok,
  publisher,
  readyz,
  recoveryBoundMs,
  startNodes,
  subscriber,
} from "../cluster/helpers.js";
import {
  type GatewayProc,
  type RedisProc,
  Resources,
  startRedis,
  startTcpProxy,
  type TestClient,
  until,
} from "../harness/index.js";
import { must } from "../harness/must.js";

/**
 * The default PublishTimeoutMs. Against a hung Redis every wait ends at this bound, so the
 * bound itself is under test; it is larger than the margin, so a reply that took twice the
 * bound fails.
 */
const timeoutMs = 2000;

interface Hang {
  readonly name: string;
  /** Starts Redis and returns the URL the gateways use, with the fault's switches. */
  setUp(resources: Resources): Promise<{ url: string; redis: RedisProc; hang(): void; resume(): void }>;
}

const hangs: Hang[] = [
  {
    name: "redis-server stopped with SIGSTOP",
    async setUp(resources) {
      const redis = resources.add(await startRedis(), (r) => r.stop());
      return { url: redis.url, redis, hang: () => redis.pause(), resume: () => redis.resume() };
    },
  },
  {
    name: "a proxy that stops forwarding both ways",
    async setUp(resources) {
      const redis = resources.add(await startRedis(), (r) => r.stop());
      const proxy = resources.add(await startTcpProxy(redis.port), (p) => p.close());
      return {
        url: `redis://127.0.0.1:${proxy.port}`,
        redis,
        hang: () => proxy.blackhole(true),
        resume: () => proxy.blackhole(false),
      };
    },
  },
];

/** Sends one command and resolves with its reply and how long it took. */
async function timed(client: TestClient, frame: object): Promise<{ reply: string; ms: number }> {
  const start = performance.now();
  const reply = JSON.stringify(await client.request(frame, 10_000));
  return { reply, ms: performance.now() - start };
}

describe.each(hangs)("Redis hung, not dead: $name", (fault) => {
  const resources = new Resources();
  afterEach(() => resources.close());

  it("answers every publish and subscribe unavailable within PublishTimeoutMs, never ok; after it resumes everything works, no gateway restarted", {
    timeout: 60_000,
  }, async () => {
    const { url, redis, hang, resume } = await fault.setUp(resources);
    const nodes = await startNodes(resources, url, 2, { ROCKET_PUBLISH_TIMEOUT_MS: String(timeoutMs) });
    const [a, b] = nodes as [GatewayProc, GatewayProc];
    const pids = nodes.map((gw) => gw.proc.pid);
    const subs = [await subscriber(resources, a, "h", "shared"), await subscriber(resources, b, "h")];
    const watched: Watched[] = subs.map((client, k) => ({ name: `subscriber on ${"ab"[k]}`, client }));
    const publishers = [
      new ContinuousPublisher(await publisher(resources, a), "P", "h"),
      new ContinuousPublisher(await publisher(resources, b), "Q", "h"),
    ];
    // Clients that ask for things during the hang, all at once.
    const probe = (gw: GatewayProc) => publisher(resources, gw);
    const probes = {
      /** A channel new to the cluster. */
      subscribeNew: [await probe(a), { subscribe: { channel: "new-during-hang" } }],
      /** A channel this node is already subscribed to in Redis, for another client. */
      subscribeShared: [await probe(a), { subscribe: { channel: "shared" } }],
      subscribeOnB: [await probe(b), { subscribe: { channel: "new-on-b" } }],
      /** A channel b has not looked up yet: the lookup waits for Redis too. */
      publishUnknownOnB: [await probe(b), { publish: { event: "m", channel: "shared", data: 1 } }],
      publishKnown: [await probe(a), { publish: { event: "m", channel: "shared", data: 2 } }],
      // Nothing that needs no Redis waits for it.
      auth: [await probe(a), { auth: { access: "read-write", secret: "test-secret" } }],
      unsubscribe: [must(subs[0]), { unsubscribe: { channel: "shared" } }],
      logout: [await probe(b), { logout: true }],
    } satisfies Record<string, [TestClient, object]>;
    const twiceAtOnce = await probe(a);
    let twice: string[] = [];
    let hungAt = 0;
    let resumedAt = 0;
    let answers: Record<string, { reply: string; ms: number }> = {};
    try {
      const start = performance.now();
      await until(() => publishers.every((p) => p.acked(start).length >= 10), 5000, "publishes before the hang");
      hungAt = performance.now();
      hang();
      try {
        // The same new subscription asked twice at once: neither may be ok, since neither is in place.
        twiceAtOnce.send({ subscribe: { channel: "twice-during-hang" } });
        twiceAtOnce.send({ subscribe: { channel: "twice-during-hang" } });
        answers = Object.fromEntries(
          await Promise.all(Object.entries(probes).map(async ([name, [client, frame]]) => [name, await timed(client, frame)])),
        );
        twice = [await twiceAtOnce.nextReply(10_000), await twiceAtOnce.nextReply(10_000)].map((r) => JSON.stringify(r));
        const refusedSinceHang = (p: ContinuousPublisher) =>
          p.sent.filter((s) => s.sentAt > hungAt && s.reply === unavailable).length;
        await until(() => publishers.every((p) => refusedSinceHang(p) >= 5), 20_000, "publishes refused during the hang");
        await until(
          async () => (await Promise.all(nodes.map(readyz))).every((s) => s === 503),
          20_000,
          "/readyz 503 on every node",
          50,
        );
      } finally {
        resumedAt = performance.now();
        resume();
      }
      await until(() => servedSince(publishers, subs, resumedAt), recoveryBoundMs + marginMs, "deliveries after the hang", 10);
    } finally {
      await stopAndFlush(publishers, watched);
    }
    console.log(`hung (${fault.name}): answers ${JSON.stringify({ ...answers, twice })}`);

    // A hung Redis loses nothing that was acknowledged: what it took before the hang goes out after.
    expectAcksKept(`Redis hung (${fault.name})`, audit(publishers, watched), watched);
    const all = publishers.flatMap((p) => p.sent);
    const duringHang = all.filter((s) => s.sentAt > hungAt && answeredAt(s) < resumedAt);
    expect(duringHang.length).toBeGreaterThan(0);
    expect(duringHang.filter((s) => s.reply !== unavailable)).toEqual([]);
    const slowest = Math.max(...all.map((s) => answeredAt(s) - s.sentAt));
    expect.soft(slowest, "slowest publish reply").toBeLessThanOrEqual(timeoutMs + marginMs);

    for (const name of ["subscribeNew", "subscribeShared", "subscribeOnB", "publishUnknownOnB", "publishKnown"]) {
      expect.soft(must(answers[name]).reply, name).toBe(unavailable);
      expect.soft(must(answers[name]).ms, name).toBeLessThanOrEqual(timeoutMs + marginMs);
    }
    expect.soft(twice, "the same subscribe twice at once").toEqual([unavailable, unavailable]);
    for (const name of ["auth", "unsubscribe", "logout"]) {
      expect(must(answers[name]).reply, name).toBe(ok);
      expect(must(answers[name]).ms, name).toBeLessThan(marginMs);
    }

    // Each node said why it stopped acknowledging (docs/operations.md, "Redis outage").
    for (const gw of nodes) {
      expect(gw.proc.lines.some((l) => l.includes('"msg":"bus not ready"') && l.includes("Redis not answering"))).toBe(true);
    }

    // Working again, in the same processes: new subscriptions, new channels, delivery.
    for (const gw of nodes) expect(await readyz(gw)).toBe(200);
    expect(nodes.map((gw) => gw.proc.child.exitCode === null && gw.proc.pid)).toEqual(pids);
    const late = await subscriber(resources, b, "after-hang");
    expect(await probes.auth[0].publish("after-hang", "m", { back: true })).toEqual({ ok: true });
    expect(await late.waitForDeliveries(1)).toEqual([{ event: "m", channel: "after-hang", data: { back: true } }]);
    // An ok to a subscribe means messages published afterwards reach the client.
    const other = await subscriber(resources, a, "twice-during-hang");
    expect(await probes.auth[0].publish("twice-during-hang", "m", "after")).toEqual({ ok: true });
    await other.waitForDeliveries(1);
    expect(await twiceAtOnce.request({ logout: true })).toEqual({ ok: true });
    expect.soft(twiceAtOnce.deliveries.length, "deliveries after an ok to subscribe").toBe(twice.includes(ok) ? 1 : 0);
    expect(await redis.cli("PING")).toBe("PONG");
  });
});
