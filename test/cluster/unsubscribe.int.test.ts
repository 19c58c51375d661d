import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, type RedisProc, Resources, startRedis, type TestClient, until } from "../harness/index.js";
import { ContinuousPublisher, publisher, startNodes, subscriber } from "./helpers.js";

/** Deliveries that reached `client` after its `n`-th reply (1-based), in arrival order. */
function deliveriesAfterReply(client: TestClient, n: number): string[] {
  let replies = 0;
  const after: string[] = [];
  for (const text of client.raw) {
    if (text.startsWith('{"event"')) {
      if (replies >= n) after.push(text);
    } else replies += 1;
  }
  return after;
}

describe("cluster mode: unsubscribe under continuous publishing", () => {
  const resources = new Resources();
  let redis: RedisProc;
  let nodes: GatewayProc[];
  beforeAll(async () => {
    redis = resources.add(await startRedis(), (r) => r.stop());
    nodes = await startNodes(resources, redis.url, 2);
  });
  afterAll(() => resources.close());

  it.each([
    { name: "another client on the node stays subscribed", stays: true },
    { name: "the node's last subscriber leaves", stays: false },
  ])("sends no delivery after the unsubscribe reply: $name", async ({ stays }) => {
    const [a, b] = nodes as [GatewayProc, GatewayProc];
    const channel = stays ? "u-shared" : "u-alone";
    const leaving = await subscriber(resources, b, channel);
    const staying = stays ? await subscriber(resources, b, channel) : undefined;
    const pub = new ContinuousPublisher(await publisher(resources, a), "P", channel);
    try {
      await leaving.waitForDeliveries(10);
      expect(await leaving.request({ unsubscribe: { channel } })).toEqual({ ok: true });
      const at = pub.sent.length;
      await until(() => pub.acked().filter((s) => s.i > at).length >= 20, 5000, "publishes after the unsubscribe");
      if (staying) await until(() => staying.deliveries.some((d) => d.data !== null && (d.data as { i: number }).i > at + 20));
    } finally {
      await pub.stop();
    }
    // A round trip after the last publish was acknowledged: anything still coming would be before its reply.
    expect(await leaving.request({ logout: true })).toEqual({ ok: true });
    // Replies: auth, subscribe, unsubscribe.
    expect(deliveriesAfterReply(leaving, 3)).toEqual([]);
    expect(leaving.deliveries.length).toBeGreaterThanOrEqual(10);
  });
});
