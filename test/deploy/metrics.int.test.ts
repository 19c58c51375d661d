import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, type GatewayProc, Resources, startGateway, TestClient, until } from "../harness/index.js";
import { must } from "../harness/must.js";
import { composeGatewayEnv, repoPath } from "./files.js";
import { composeSecret, floodUntilSlowConsumer, sample, scrape, stalledSubscriber, startCluster } from "./stack.js";

// The metrics mean what docs/operations.md says they mean: counted exactly, on a gateway
// configured as docker-compose.yml configures it.

const resources = new Resources();
afterEach(() => resources.close());

/** Waits until `name{labels}` on `gw` satisfies `check`; returns the scrape. */
async function metricUntil(
  gw: GatewayProc,
  name: string,
  labels: Record<string, string>,
  check: (v: number) => boolean,
  timeoutMs = 15_000,
): Promise<string> {
  let text = "";
  let value = Number.NaN;
  await until(
    async () => {
      text = await scrape(gw);
      value = sample(text, name, labels);
      return check(value);
    },
    timeoutMs,
    `${name}${JSON.stringify(labels)}`,
    50,
  ).catch((err: Error) => {
    throw new Error(`${err.message} (last value ${value})`);
  });
  return text;
}

describe("gateway metrics", () => {
  it("count connections, frames, replies, publishes, deliveries and bytes exactly", async () => {
    const [gw] = (await startCluster(resources, 1)).gateways as [GatewayProc];
    // A gateway listens before its bus is ready; subscribes before that get "unavailable".
    const before = await metricUntil(gw, "rocket_ready", {}, (v) => v === 1);
    const hub = { hub: "/" };
    let bytesIn = 0;
    const request = async (client: TestClient, frame: object | string) => {
      bytesIn += Buffer.byteLength(typeof frame === "string" ? frame : JSON.stringify(frame));
      return client.request(frame);
    };

    const subs: TestClient[] = [];
    for (let i = 0; i < 3; i++) {
      const sub = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
      expect(await request(sub, { auth: { access: "read-only", secret: "" } })).toEqual({ ok: true });
      expect(await request(sub, { subscribe: { channel: "news" } })).toEqual({ ok: true });
      subs.push(sub);
    }
    const pub = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    expect(await request(pub, { auth: { access: "read-write", secret: composeSecret() } })).toEqual({ ok: true });
    for (let n = 0; n < 5; n++) {
      expect(await request(pub, { publish: { event: "e", channel: "news", data: { n } } })).toEqual({ ok: true });
    }
    for (const s of subs) await s.waitForDeliveries(5);
    expect(await request(pub, "not json")).toEqual({ err: "invalid_data" });
    expect(await request(must(subs[0]), { disconnect: true })).toEqual({ ok: true });
    expect((await must(subs[0]).closed).code).toBe(1000);

    const after = await metricUntil(gw, "rocket_connections_closed_total", { ...hub, code: "1000" }, (v) => v === 1);
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(delta("rocket_connections_opened_total", hub)).toBe(4);
    expect(sample(after, "rocket_connections_open", hub)).toBe(3);
    expect(delta("rocket_frames_received_total", { ...hub, command: "auth" })).toBe(4);
    expect(delta("rocket_frames_received_total", { ...hub, command: "subscribe" })).toBe(3);
    expect(delta("rocket_frames_received_total", { ...hub, command: "publish" })).toBe(5);
    expect(delta("rocket_frames_received_total", { ...hub, command: "disconnect" })).toBe(1);
    expect(delta("rocket_frames_received_total", { ...hub, command: "invalid" })).toBe(1);
    expect(delta("rocket_replies_total", { ...hub, code: "ok" })).toBe(4 + 3 + 5 + 1);
    expect(delta("rocket_replies_total", { ...hub, code: "invalid_data" })).toBe(1);
    expect(delta("rocket_publishes_accepted_total", hub)).toBe(5);
    // Fan-out: five publishes, three subscribers.
    expect(delta("rocket_messages_delivered_total", hub)).toBe(15);
    expect(delta("rocket_bytes_received_total", hub)).toBe(bytesIn);
    const bytesOut = [...subs, pub].flatMap((c) => c.raw).reduce((n, m) => n + Buffer.byteLength(m), 0);
    expect(delta("rocket_bytes_sent_total", hub)).toBe(bytesOut);
    // One bus publish (and one delivery on this node) per publish.
    expect(delta("rocket_bus_publish_ack_seconds_count")).toBe(5);
    expect(delta("rocket_bus_publish_deliver_seconds_count")).toBe(5);
    expect(delta("rocket_bus_subscribed_channels")).toBe(1);
    expect(delta("rocket_bus_registry_channels")).toBe(1);
    expect(sample(after, "rocket_bus_publish_failures_total")).toBe(0);
    // Event-loop lag is prom-client's: one gauge per statistic, no second one of Rocket's.
    const lag = sample(after, "nodejs_eventloop_lag_p99_seconds");
    expect(lag).toBeGreaterThan(0);
    expect(lag).toBeLessThan(1);
    expect(after).not.toMatch(/^rocket_\w*lag/m);
    const limit = sample(after, "rocket_connections_max");
    expect(limit).toBeGreaterThan(100);
    expect(limit).toBeLessThan(20_000);
    const { version } = JSON.parse(readFileSync(repoPath("apps/gateway/package.json"), "utf8")) as { version: string };
    expect(sample(after, "rocket_build_info", { version, nodejs: process.version })).toBe(1);
  });

  it("count a slow consumer once as a limit breach, and its close once as a 4008 close", async () => {
    const [gw] = (await startCluster(resources, 1)).gateways as [GatewayProc];
    await metricUntil(gw, "rocket_ready", {}, (v) => v === 1);
    const hub = { hub: "/" };
    const pub = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    expect(await pub.auth("read-write", composeSecret())).toEqual({ ok: true });
    expect(await pub.subscribe("firehose")).toEqual({ ok: true });
    const slow = resources.add(await stalledSubscriber(gw.url(), "firehose"), (c) => c.close());
    const before = await scrape(gw);
    await floodUntilSlowConsumer(gw, pub, "firehose");
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await slow.closed).code).toBe(4008);
    const after = await metricUntil(gw, "rocket_connections_closed_total", { ...hub, code: "4008" }, (v) => v === 1);
    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta("rocket_limit_breaches_total", { ...hub, limit: "backpressure" })).toBe(1);
    expect(delta("rocket_connections_closed_total", { ...hub, code: "4008" })).toBe(1);
    // Its close is no other close too.
    expect(delta("rocket_connections_closed_total", hub)).toBe(1);
    expect(after).not.toMatch(/slow_consumer/);
  });

  it("follow Redis going away and coming back: rocket_bus_up, reconnects, ready, failures", async () => {
    const { redis, gateways } = await startCluster(resources, 1);
    const gw = must(gateways[0]);
    let text = await metricUntil(gw, "rocket_ready", {}, (v) => v === 1);
    expect(sample(text, "rocket_bus_up")).toBe(1);
    expect(sample(text, "rocket_bus_reconnects_total")).toBe(0);
    const pub = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    expect(await pub.auth("read-write", composeSecret())).toEqual({ ok: true });
    expect(await pub.subscribe("news")).toEqual({ ok: true });

    await redis.kill9();
    text = await metricUntil(gw, "rocket_bus_up", {}, (v) => v === 0);
    text = await metricUntil(gw, "rocket_ready", {}, (v) => v === 0);
    expect((await fetch(gw.http("/readyz"))).status).toBe(503);
    expect(await pub.publish("news", "e", {})).toEqual({ err: "unavailable" });
    text = await scrape(gw);
    expect(sample(text, "rocket_bus_publish_failures_total")).toBeGreaterThanOrEqual(1);
    expect(sample(text, "rocket_replies_total", { code: "unavailable" })).toBe(1);

    await redis.restart();
    text = await metricUntil(gw, "rocket_bus_up", {}, (v) => v === 1, 30_000);
    text = await metricUntil(gw, "rocket_ready", {}, (v) => v === 1, 30_000);
    expect(sample(text, "rocket_bus_reconnects_total")).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it("report Redis down for a gateway started while Redis is unreachable", async () => {
    const env: Record<string, string> = { ...composeGatewayEnv(), ROCKET_METRICS_PORT: "0" };
    delete env.ROCKET_REDIS_URL;
    const gw = resources.add(
      await startGateway({ env, redisUrl: `redis://127.0.0.1:${await freePort()}`, waitReady: false }),
      (g) => g.stop(),
    );
    expect((await fetch(gw.http("/readyz"))).status).toBe(503);
    const text = await scrape(gw);
    expect(sample(text, "rocket_ready")).toBe(0);
    expect(sample(text, "rocket_bus_up")).toBe(0);
  });
});
