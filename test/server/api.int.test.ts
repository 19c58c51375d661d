import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { publisher, subscriber } from "../cluster/helpers.js";
import { type GatewayProc, type RedisProc, Resources, startGateway, startRedis, until } from "../harness/index.js";
import { api, apiKey, otherApiKey, serverEnv, startServerNodes } from "./helpers.js";

interface Tagged {
  readonly p: string;
  readonly i: number;
}

describe("HTTP API: 3 gateways, 1 Redis", () => {
  const shared = new Resources();
  const resources = new Resources();
  let redis: RedisProc;
  let a: GatewayProc;
  let b: GatewayProc;
  let c: GatewayProc;
  beforeAll(async () => {
    redis = shared.add(await startRedis(), (r) => r.stop());
    [a, b, c] = (await startServerNodes(shared, redis.url, 3, { ROCKET_MAX_PAYLOAD_BYTES: "2048" })) as [
      GatewayProc,
      GatewayProc,
      GatewayProc,
    ];
  });
  afterEach(() => resources.close());
  afterAll(() => shared.close());

  it("refuses a missing or wrong key with 401, takes every key of ApiKeys", async () => {
    const body = { channel: "auth", event: "m" };
    expect(await api(a, "POST", "/api/publish", body, null)).toEqual({ status: 401, body: { err: "unauthorized" } });
    expect(await api(a, "POST", "/api/publish", body, "test-api-key-0123456780")).toEqual({
      status: 401,
      body: { err: "unauthorized" },
    });
    expect(await api(a, "GET", "/api/nothing-here", undefined, null)).toEqual({ status: 401, body: { err: "unauthorized" } });
    const res = await fetch(`${a.http("/api/publish")}`, { method: "POST", headers: { authorization: `Basic ${apiKey}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
    expect(await api(a, "POST", "/api/publish", body, apiKey)).toEqual({ status: 200, body: { ok: true } });
    expect(await api(a, "POST", "/api/publish", body, otherApiKey)).toEqual({ status: 200, body: { ok: true } });
  });

  it("answers 413 past the size limits, 400 to bodies of the wrong shape, 404 and 405", async () => {
    const big = { channel: "big", event: "m", data: "x".repeat(2100) };
    expect(await api(a, "POST", "/api/publish", big)).toEqual({ status: 413, body: { err: "payload_too_large" } });
    const huge = { publications: [{ channel: "big", event: "m", data: "x".repeat(1024 * 1024) }] };
    expect(await api(a, "POST", "/api/batch", huge)).toEqual({ status: 413, body: { err: "payload_too_large" } });
    const many = { publications: Array.from({ length: 101 }, () => ({ channel: "many", event: "m" })) };
    expect(await api(a, "POST", "/api/batch", many)).toEqual({ status: 400, body: { err: "limit_exceeded" } });
    for (const bad of ["not json", "[]", '{"channel":"c"}', '{"channel":"c","event":""}', '{"channel":1,"event":"e"}']) {
      expect(await api(a, "POST", "/api/publish", bad), bad).toEqual({ status: 400, body: { err: "invalid_data" } });
    }
    expect(await api(a, "POST", "/api/publish", { channel: "", event: "m" })).toEqual({
      status: 400,
      body: { err: "invalid_channel_name" },
    });
    expect(await api(a, "POST", "/api/publish", { channel: "c", event: "__join" })).toEqual({
      status: 400,
      body: { err: "invalid_data" },
    });
    expect(await api(a, "POST", "/api/publish", { hub: "/nope", channel: "c", event: "m" })).toEqual({
      status: 404,
      body: { err: "not_found" },
    });
    expect(await api(a, "POST", "/api/batch", '{"publications":"no"}')).toEqual({ status: 400, body: { err: "invalid_data" } });
    expect(await api(a, "POST", "/api/disconnect", { hub: "/" })).toEqual({ status: 400, body: { err: "invalid_data" } });
    expect(await api(a, "GET", "/api/presence")).toEqual({ status: 400, body: { err: "invalid_data" } });
    expect(await api(a, "GET", "/api/channels?hub=/nope")).toEqual({ status: 404, body: { err: "not_found" } });
    expect(await api(a, "GET", "/api/publish")).toEqual({ status: 405, body: { err: "method_not_allowed" } });
    expect(await api(a, "POST", "/api/channels", {})).toEqual({ status: 405, body: { err: "method_not_allowed" } });
    expect(await api(a, "GET", "/api/nothing-here")).toEqual({ status: 404, body: { err: "not_found" } });
  });

  it("publishes to a channel nobody subscribed to yet: the channel exists from then on", async () => {
    expect(await api(b, "POST", "/api/publish", { channel: "fresh", event: "m", data: 1 })).toEqual({
      status: 200,
      body: { ok: true },
    });
    const pub = await publisher(resources, a);
    expect(await pub.publish("fresh", "m", 2)).toEqual({ ok: true });
  });

  it("answers a publish on a channel with history with its position", async () => {
    const first = await api(c, "POST", "/api/publish", { channel: "hist:api", event: "m", data: 1 });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ ok: true, offset: 1, epoch: expect.any(String) });
    const second = await api(a, "POST", "/api/publish", { channel: "hist:api", event: "m", data: 2 });
    expect(second.body).toEqual({ ok: true, offset: 2, epoch: first.body.epoch });
  });

  it("delivers API publishes to WebSocket subscribers on every node, in one order with WebSocket publishes", async () => {
    const subs = await Promise.all([a, b, c].map((gw) => subscriber(resources, gw, "mixed")));
    const ws = await publisher(resources, a);
    const count = 100;
    // Both sources at once: the WebSocket publisher on A, the API on B, one request at a time each.
    const wsSide = (async () => {
      for (let i = 0; i < count; i++) expect(await ws.publish("mixed", "m", { p: "ws", i })).toEqual({ ok: true });
    })();
    const apiSide = (async () => {
      for (let i = 0; i < count; i++) {
        expect(await api(b, "POST", "/api/publish", { channel: "mixed", event: "m", data: { p: "api", i } })).toEqual({
          status: 200,
          body: { ok: true },
        });
      }
    })();
    await Promise.all([wsSide, apiSide]);
    for (const sub of subs) await sub.waitForDeliveries(2 * count, 15_000);
    const orders = subs.map((sub) => sub.deliveries.map((d) => d.data as Tagged));
    const first = orders[0] ?? [];
    for (const p of ["ws", "api"]) {
      expect(first.filter((m) => m.p === p).map((m) => m.i)).toEqual(Array.from({ length: count }, (_, i) => i));
    }
    for (const order of orders) expect(order).toEqual(first);
    expect(first.filter((m, i) => i > 0 && m.p !== first[i - 1]?.p).length).toBeGreaterThan(1);
  });

  it("publishes a batch in order, one result per publication", async () => {
    const sub = await subscriber(resources, c, "batch");
    const publications = Array.from({ length: 100 }, (_, i) => ({ channel: i === 50 ? "" : "batch", event: "m", data: { i } }));
    const res = await api(a, "POST", "/api/batch", { publications });
    expect(res.status).toBe(200);
    const results = res.body.results as unknown[];
    expect(results).toHaveLength(100);
    expect(results[50]).toEqual({ err: "invalid_channel_name" });
    expect(results.filter((r, i) => i !== 50 && JSON.stringify(r) !== '{"ok":true}')).toEqual([]);
    const got = await sub.waitForDeliveries(99);
    expect(got.map((d) => (d.data as { i: number }).i)).toEqual(Array.from({ length: 100 }, (_, i) => i).filter((i) => i !== 50));
  });

  it("counts each channel's subscribers cluster-wide, by prefix", async () => {
    await Promise.all([
      subscriber(resources, a, "count:x", "count:y"),
      subscriber(resources, b, "count:x"),
      subscriber(resources, c, "count:x", "other"),
    ]);
    const res = await api(b, "GET", "/api/channels?prefix=count:");
    expect(res).toEqual({
      status: 200,
      body: {
        ok: true,
        channels: [
          { channel: "count:x", subscribers: 3 },
          { channel: "count:y", subscribers: 1 },
        ],
      },
    });
  });
});

describe("HTTP API while Redis is down", () => {
  const resources = new Resources();
  afterEach(() => resources.close());

  it("answers a publish 503 unavailable within PublishTimeoutMs, never ok, and serves again once Redis is back", async () => {
    const redis = resources.add(await startRedis(), (r) => r.stop());
    const gw = resources.add(
      await startGateway({ redisUrl: redis.url, env: serverEnv({ ROCKET_PUBLISH_TIMEOUT_MS: "500" }) }),
      (g) => g.stop(),
    );
    await until(
      async () => (await api(gw, "POST", "/api/publish", { channel: "down", event: "m" })).status === 200,
      10_000,
      "ready",
    );
    await redis.kill9();
    const started = Date.now();
    expect(await api(gw, "POST", "/api/publish", { channel: "down", event: "m" })).toEqual({
      status: 503,
      body: { err: "unavailable" },
    });
    expect(Date.now() - started).toBeLessThan(500 + 1000);
    expect(await api(gw, "GET", "/api/channels")).toEqual({ status: 503, body: { err: "unavailable" } });
    await redis.restart();
    await until(
      async () => (await api(gw, "POST", "/api/publish", { channel: "down", event: "m" })).status === 200,
      10_000,
      "serving again",
    );
  });
});

describe("HTTP API on the metrics port", () => {
  const resources = new Resources();
  afterEach(() => resources.close());

  it("is served there and not on the clients' port; without keys it is off", async () => {
    const gw = resources.add(await startGateway({ env: serverEnv(), args: ["--metrics-port", "0"] }), (g) => g.stop());
    expect(gw.metricsPort).toBeDefined();
    expect(await api(gw, "POST", "/api/publish", { channel: "m", event: "m" })).toEqual({ status: 200, body: { ok: true } });
    const onMain = await fetch(gw.http("/api/publish"), {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}` },
      body: "{}",
    });
    expect(onMain.status).toBe(405);
    await onMain.text();
    const off = resources.add(await startGateway(), (g) => g.stop());
    const res = await fetch(off.http("/api/channels"), { headers: { authorization: `Bearer ${apiKey}` } });
    expect(res.status).toBe(404);
    await res.text();
    await until(async () => (await fetch(gw.http("/healthz"))).status === 200, 5000, "still up");
  });
});
