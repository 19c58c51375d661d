import { afterEach, describe, expect, it } from "vitest";
import { waitReady } from "../cluster/helpers.js";
import { Resources, startGateway, startRedis } from "../harness/index.js";
import { connect, historyConfig, type Position, subscribeSince } from "./helpers.js";

const resources = new Resources();
afterEach(() => resources.close());

describe("history bounds in Redis", () => {
  it("keeps Size messages per channel, in bounded memory, and drops both keys TtlSeconds after the last publish", async () => {
    const redis = resources.add(await startRedis(), (r) => r.stop());
    const gw = resources.add(await startGateway({ config: historyConfig(100, 2), redisUrl: redis.url }), (g) => g.stop());
    await waitReady(gw);
    const stream = "rocket:history:{/:h:bound}";
    const meta = "rocket:meta:{/:h:bound}";
    const client = await connect(resources, gw);
    const start = (await subscribeSince(client, "h:bound", {})) as unknown as Position;
    const text = "x".repeat(200);
    for (let i = 0; i < 1000; i++) client.send({ publish: { event: "m", channel: "h:bound", data: { i, text } } });
    // Redis ran the last publish's script (and set the expiry) after it was sent, before its reply came.
    const lastSentAt = Date.now();
    for (let i = 0; i < 1000; i++) expect(await client.nextReply()).toEqual({ ok: true });
    const lastPublishAt = Date.now();

    expect(await redis.cli("XLEN", stream)).toBe("100");
    expect(await redis.cli("HGET", meta, "offset")).toBe(String(start.offset + 1000));
    // Each kept entry is one delivered frame (about 270 bytes) plus its envelope and the
    // stream's own overhead; 1000 messages published must not show.
    const bytes = Number(await redis.cli("MEMORY", "USAGE", stream));
    expect(bytes).toBeGreaterThan(100 * 250);
    expect(bytes).toBeLessThan(100 * 600);
    for (const key of [stream, meta]) {
      const ttl = Number(await redis.cli("PTTL", key));
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(2000);
    }
    const first = (await redis.cli("XRANGE", stream, "-", "+", "COUNT", "1")).split("\n")[0];
    expect(first).toBe(`${start.offset + 901}-0`);

    // Expiry is the promise here: gone after TtlSeconds (2 s), not before (100 ms margin for clocks).
    let goneAt = 0;
    while (goneAt === 0) {
      if ((await redis.cli("EXISTS", stream, meta)) === "0") goneAt = Date.now();
      else await new Promise((r) => setTimeout(r, 25));
      expect(Date.now() - lastPublishAt, "still there 5 s after the last publish").toBeLessThan(5000);
    }
    expect(goneAt - lastSentAt).toBeGreaterThanOrEqual(1900);

    const back = await connect(resources, gw);
    const reply = await subscribeSince(back, "h:bound", { offset: start.offset + 1000, epoch: start.epoch });
    expect(reply).toMatchObject({ ok: true, recovered: false, offset: 0 });
    expect(reply.epoch).not.toBe(start.epoch);
  });
});
