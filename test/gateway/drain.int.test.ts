import { afterEach, describe, expect, it } from "vitest";
import { Resources, startGateway, startRedis, TestClient } from "../harness/index.js";
import { must } from "../harness/must.js";
import { RawHttp } from "./raw-http.js";

const resources = new Resources();
afterEach(() => resources.close());

/** Slack on top of a documented time bound: the tests run on a busy 2-core machine. */
const marginMs = 1000;

describe("drain", () => {
  it("answers upgrades that reach it while draining with 503 and counts them as draining", async () => {
    const gw = resources.add(await startGateway({ env: { ROCKET_DRAIN_TIMEOUT_MS: "1000" } }), (g) => g.stop());
    // Clients to close, so that the drain lasts its window.
    await Promise.all(Array.from({ length: 5 }, async () => resources.add(await TestClient.connect(gw.url()), (c) => c.close())));
    // Connections made before the drain: the listening socket closes, these stay.
    const late = resources.add(await RawHttp.connect(gw.port), (h) => h.close());
    const probe = resources.add(await RawHttp.connect(gw.port), (h) => h.close());
    expect((await probe.get("/readyz")).status).toBe(200);

    gw.proc.kill("SIGTERM");
    await gw.proc.waitForLine(/"msg":"closing clients with 1001"/);
    const refused = await late.upgrade("/");
    expect(refused.status).toBe(503);
    expect(refused.body).toBe("draining\n");
    const ready = await probe.get("/readyz");
    expect([ready.status, ready.body]).toEqual([503, "not ready: draining\n"]);
    const metrics = (await probe.get("/metrics")).body;
    expect(metrics).toMatch(/^rocket_upgrades_refused_total\{hub="\/",reason="draining"\} 1$/m);
    expect(metrics).toMatch(/^rocket_ready 0$/m);
    // New connections find nobody listening.
    await expect(TestClient.connect(gw.url())).rejects.toThrow();
    expect((await gw.proc.exited).code).toBe(0);
  });

  it("closes clients with 1001 spread over DrainTimeoutMs, then exits 0", async () => {
    const windowMs = 1000;
    const gw = resources.add(await startGateway({ env: { ROCKET_DRAIN_TIMEOUT_MS: String(windowMs) } }), (g) => g.stop());
    const clients = await Promise.all(
      Array.from({ length: 20 }, async () => resources.add(await TestClient.connect(gw.url()), (c) => c.close())),
    );
    const signalAt = performance.now();
    gw.proc.kill("SIGTERM");
    const closes = await Promise.all(
      clients.map(async (c) => {
        const { code } = await c.closed;
        return { code, ms: performance.now() - signalAt };
      }),
    );
    expect((await gw.proc.exited).code).toBe(0);
    const times = closes.map((c) => c.ms).sort((x, y) => x - y);
    console.log(`drain close times (ms after SIGTERM): ${times.map(Math.round).join(" ")}`);
    expect(new Set(closes.map((c) => c.code))).toEqual(new Set([1001]));
    // Spread: not all at once (a busy machine only spreads them further), within the window.
    expect(must(times.at(-1)) - must(times[0])).toBeGreaterThanOrEqual(windowMs / 2);
    expect(times.filter((ms) => ms - must(times[0]) < windowMs / 4).length).toBeLessThanOrEqual(clients.length / 2);
    expect(must(times.at(-1))).toBeLessThanOrEqual(windowMs + marginMs);
  });

  it("still exits, with 1, DrainTimeoutMs + 5 s after the signal when the drain cannot finish", { timeout: 30_000 }, async () => {
    const redis = resources.add(await startRedis(), (r) => r.stop());
    const drainMs = 200;
    // Closing the bus waits for Redis up to PublishTimeoutMs, far longer than the deadline.
    const gw = resources.add(
      await startGateway({
        redisUrl: redis.url,
        env: { ROCKET_DRAIN_TIMEOUT_MS: String(drainMs), ROCKET_PUBLISH_TIMEOUT_MS: "20000" },
      }),
      (g) => g.stop(),
    );
    // startGateway resolved once it was connected to Redis: a connection still being made
    // would give up at once on close.
    const client = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    redis.pause();
    const signalAt = performance.now();
    gw.proc.kill("SIGTERM");
    expect((await client.closed).code).toBe(1001);
    const { code } = await gw.proc.exited;
    const exitedAfter = performance.now() - signalAt;
    expect(code).toBe(1);
    expect(gw.proc.stderr.join("\n")).toContain("drain deadline passed");
    expect(exitedAfter).toBeGreaterThanOrEqual(drainMs + 5000 - 50);
    expect(exitedAfter).toBeLessThanOrEqual(drainMs + 5000 + marginMs);
    redis.resume();
  });
});
