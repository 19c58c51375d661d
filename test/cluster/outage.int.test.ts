import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, type RedisProc, Resources, startRedis, until } from "../harness/index.js";
import { ContinuousPublisher, ok, publisher, readyz, type Sent, startNodes, subscriber } from "./helpers.js";

const repetitions = 5;

describe("cluster mode: Redis killed and restarted under publish load", () => {
  const resources = new Resources();
  let redis: RedisProc;
  let nodes: GatewayProc[];
  beforeAll(async () => {
    redis = resources.add(await startRedis(), (r) => r.stop());
    nodes = await startNodes(resources, redis.url, 3);
  });
  afterAll(() => resources.close());

  it(`never acknowledges a publish it does not deliver (${repetitions} restarts)`, { timeout: 150_000 }, async () => {
    const [a, b, c] = nodes as [GatewayProc, GatewayProc, GatewayProc];
    const subs = await Promise.all([a, b, c].map((gw) => subscriber(resources, gw, "live")));
    // A channel that stays registered with nobody subscribed: the registry must come back too.
    const once = await subscriber(resources, c, "registered-only");
    expect(await once.request({ unsubscribe: { channel: "registered-only" } })).toEqual({ ok: true });
    const publishers = [
      new ContinuousPublisher(await publisher(resources, a), "A", "live"),
      new ContinuousPublisher(await publisher(resources, b), "B", "live"),
    ];
    const clients = [...subs, ...publishers.map((p) => p.client)];
    const sentAt = (p: string, i: number) => publishers.find((x) => x.tag === p)!.sent[i]!.sentAt;
    const outages: { killedAt: number; restartAt: number }[] = [];
    const recoveryMs: number[] = [];

    try {
      for (let rep = 0; rep < repetitions; rep++) {
        const start = performance.now();
        await until(() => publishers.every((p) => p.acked(start).length >= 20), 10_000, "publishes acknowledged before the kill");

        await redis.kill9();
        const killedAt = performance.now();
        // Keep Redis down until each publisher has been refused a few times.
        const refusedSinceKill = (p: ContinuousPublisher) =>
          p.sent.filter((s) => s.sentAt > killedAt && s.reply !== undefined && s.reply !== ok).length;
        await until(() => publishers.every((p) => refusedSinceKill(p) >= 10), 5000, "errors during the outage");
        await until(
          async () => (await Promise.all(nodes.map(readyz))).every((s) => s === 503),
          5000,
          "/readyz 503 on every node",
        );

        const restartAt = performance.now();
        await redis.restart();
        const returnedAt = performance.now();
        outages.push({ killedAt, restartAt });

        // Acknowledged and delivered again on every node: every subscriber gets a message from
        // each publisher that was sent after Redis returned.
        await until(
          () =>
            subs.every((sub) =>
              publishers.every((p) =>
                sub.deliveries.some((d) => {
                  const m = d.data as { p: string; i: number };
                  return m.p === p.tag && sentAt(m.p, m.i) >= returnedAt;
                }),
              ),
            ),
          10_000,
          "delivery after Redis returned",
          10,
        );
        recoveryMs.push(performance.now() - returnedAt);
        expect(await redis.cli("SISMEMBER", "rocket:channels:/", "live")).toBe("1");
        expect(await redis.cli("SISMEMBER", "rocket:channels:/", "registered-only")).toBe("1");
      }
    } finally {
      await Promise.all(publishers.map((p) => p.stop()));
    }

    // A last message from each publisher: once every subscriber has it, everything acknowledged
    // before it had its chance to arrive (one order per channel).
    for (const p of publishers) expect(await p.client.publish("live", "m", { p: p.tag, i: -1 })).toEqual({ ok: true });
    await until(
      () =>
        subs.every((sub) =>
          publishers.every((p) =>
            sub.deliveries.some((d) => (d.data as { p: string; i: number }).p === p.tag && (d.data as { i: number }).i === -1),
          ),
        ),
      10_000,
      "final markers",
    );

    const all = publishers.flatMap((p) => p.sent.filter((s) => s.reply !== undefined));
    const duringOutage = all.filter((s) => outages.some((o) => s.sentAt > o.killedAt && s.repliedAt! < o.restartAt));
    const slowest = Math.max(...all.map((s) => s.repliedAt! - s.sentAt));
    // Redis writes a PUBLISH's reply before the subscribers' copies in the same pass of its
    // event loop, so a SIGKILL landing between those writes loses a message its publisher
    // saw acknowledged. That instant is outside Rocket's reach: such messages (acknowledged
    // at most 250 ms before a kill) are counted apart. Every other acknowledged message,
    // above all those acknowledged after Redis came back, must have been delivered.
    const atKill = (s: Sent) =>
      outages.some((o) => s.sentAt < o.killedAt && s.repliedAt! > o.killedAt - 250 && s.repliedAt! < o.restartAt);
    let ackedNotDelivered = 0;
    let lostAtKill = 0;
    for (const sub of subs) {
      const got = new Set(sub.deliveries.map((d) => `${(d.data as Sent).p}:${(d.data as Sent).i}`));
      for (const p of publishers) {
        for (const s of p.acked()) {
          if (got.has(`${s.p}:${s.i}`)) continue;
          if (atKill(s)) lostAtKill += 1;
          else ackedNotDelivered += 1;
        }
      }
      // Each publisher's messages in its order, none twice.
      for (const p of publishers) {
        const seq = sub.deliveries
          .map((d) => d.data as Sent)
          .filter((m) => m.p === p.tag && m.i >= 0)
          .map((m) => m.i);
        expect(seq.every((n, i) => i === 0 || n > seq[i - 1]!)).toBe(true);
      }
    }
    const summary = {
      published: all.length,
      acked: all.filter((s) => s.reply === ok).length,
      errors: all.filter((s) => s.reply !== ok).length,
      duringOutage: duringOutage.length,
      slowestReplyMs: Math.round(slowest),
      recoveryMs: recoveryMs.map(Math.round),
      ackedNotDelivered,
      lostAtKill,
    };
    console.log("outage summary", JSON.stringify(summary));

    expect(duringOutage.length).toBeGreaterThan(0);
    expect(duringOutage.filter((s) => s.reply === ok)).toEqual([]);
    expect(new Set(all.filter((s) => s.reply !== ok).map((s) => s.reply))).toEqual(new Set(['{"err":"unavailable"}']));
    expect(slowest).toBeLessThan(2000);
    for (const ms of recoveryMs) expect(ms).toBeLessThan(3000);
    expect(ackedNotDelivered).toBe(0);
    for (const client of clients) expect(client.isOpen).toBe(true);
  });
});
