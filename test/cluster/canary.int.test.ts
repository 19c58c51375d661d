import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, type RedisProc, Resources, startRedis, until } from "../harness/index.js";
import { must } from "../harness/must.js";
import { audit, expectAcksKept, loggedAt, stopAndFlush, type Watched } from "./audit.js";
import {
  answeredAt,
  ContinuousPublisher,
  marginMs,
  numSub,
  publisher,
  publishTimeoutMs,
  readyz,
  recoveryBoundMs,
  redisChannel,
  type Sent,
  startNodes,
  subscriber,
} from "./helpers.js";

/** A span during which a node was resubscribing: its subscribers may miss what Redis accepted then. */
interface Gap {
  readonly node: GatewayProc;
  readonly from: number;
  readonly to: number;
}

describe("cluster mode: subscriber connection killed from the Redis side", () => {
  const resources = new Resources();
  let redis: RedisProc;
  let nodes: GatewayProc[];
  beforeAll(async () => {
    redis = resources.add(await startRedis(), (r) => r.stop());
    nodes = await startNodes(resources, redis.url, 2, { ROCKET_PUBLISH_TIMEOUT_MS: String(publishTimeoutMs) });
  });
  afterAll(() => resources.close());

  it("keeps every acknowledged publish on the other node, and recovers within its bound after CLIENT KILL", async () => {
    const [a, b] = nodes as [GatewayProc, GatewayProc];
    const subs = [
      { node: a, client: await subscriber(resources, a, "k") },
      { node: b, client: await subscriber(resources, b, "k") },
    ];
    const watched: Watched[] = subs.map((s, k) => ({ name: `subscriber on ${"ab"[k]}`, client: s.client }));
    const publishers = [
      new ContinuousPublisher(await publisher(resources, a), "P", "k"),
      new ContinuousPublisher(await publisher(resources, b), "Q", "k"),
    ];
    const gaps: Gap[] = [];
    /** Kills, waits until the killed nodes resubscribed and every subscriber got something new. */
    const killAndRecover = async (kill: () => Promise<string>, killed: GatewayProc[]) => {
      const start = performance.now();
      await until(() => publishers.every((p) => p.acked(start).length >= 10), 5000, "publishes before the kill");
      const killAt = performance.now();
      expect(Number(await kill())).toBe(killed.length);
      for (const node of killed) {
        const readyAt = await loggedAt(node, /"msg":"bus ready"/, killAt);
        gaps.push({ node, from: killAt, to: readyAt });
        expect(readyAt - killAt, "resubscribed in time").toBeLessThanOrEqual(recoveryBoundMs + marginMs);
      }
      const sentAt = (d: { data: unknown }) => {
        const m = d.data as Sent;
        return must(must(publishers.find((p) => p.tag === m.p)).sent[m.i]).sentAt;
      };
      await until(
        () => subs.every((s) => s.client.deliveries.some((d) => sentAt(d) > killAt)),
        recoveryBoundMs + marginMs,
        "deliveries after the kill",
        10,
      );
    };

    try {
      // Only b's subscriber connection: the subscriber on a must miss nothing.
      const bName = `rocket-sub:${hostname()}:${b.proc.pid}`;
      const bId = /id=(\d+) [^\n]*name=(\S+)/g;
      const clientList = await redis.cli("CLIENT", "LIST", "TYPE", "pubsub");
      const id = [...clientList.matchAll(bId)].find((m) => m[2] === bName)?.[1];
      expect(id, `${bName} in CLIENT LIST`).toBeDefined();
      await killAndRecover(() => redis.cli("CLIENT", "KILL", "ID", must(id)), [b]);
      // Then every node's subscriber connection at once (and only those: publishes go on another one).
      await killAndRecover(() => redis.cli("CLIENT", "KILL", "TYPE", "pubsub"), nodes);
    } finally {
      await stopAndFlush(publishers, watched);
    }

    // Redis pub/sub is at most once: what Redis accepted while a node was resubscribing does
    // not reach that node's subscribers (docs/operations.md, "Guarantees"). Nothing else may be
    // missing, and nothing at all on a node whose connection was not killed.
    const report = audit(publishers, watched, (s, name) => {
      const node = must(subs[watched.findIndex((w) => w.name === name)]).node;
      const inGap = gaps.some((g) => g.node === node && s.sentAt <= g.to && answeredAt(s) >= g.from);
      return inGap ? "accepted while the subscriber's node resubscribed" : undefined;
    });
    expectAcksKept("CLIENT KILL of subscriber connections", report, watched);
    expect(await numSub(redis.cli, redisChannel("k"))).toBe(nodes.length);
    for (const gw of nodes) expect(await readyz(gw)).toBe(200);
    for (const p of publishers) expect(p.client.isOpen).toBe(true);
  });
});
