import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type RedisProc, Resources, startRedis, startTcpProxy } from "../../../test/harness/index.js";
import type { Bus } from "../src/index.js";
import { EventLog } from "./events.js";
import { readyRedisBus } from "./redis-bus.js";

type Happening = { kind: "ready"; ready: boolean; reason: string } | { kind: "canaryFailed" } | { kind: "deliver"; text: string };

describe("pub/sub liveness canary", () => {
  const resources = new Resources();
  let redis: RedisProc;
  beforeEach(async () => {
    redis = resources.add(await startRedis(), (r) => r.stop());
  });
  afterEach(() => resources.close());

  it("notices a subscription that died silently, turns not ready, rebuilds the subscriber and delivers again", async () => {
    const proxy = resources.add(await startTcpProxy(redis.port), (p) => p.close());
    const log = new EventLog<Happening>();
    const watched = resources.add(
      await readyRedisBus({
        url: `redis://127.0.0.1:${proxy.port}`,
        deliver: (_topic, frame) => log.push({ kind: "deliver", text: Buffer.from(frame).toString() }),
        canaryIntervalMs: 200,
        canaryTimeoutMs: 300,
        observer: {
          readyChanged: (ready, reason) => log.push({ kind: "ready", ready, reason }),
          canaryFailed: () => log.push({ kind: "canaryFailed" }),
        },
      }),
      (b: Bus) => b.close(),
    );
    const publisher = resources.add(await readyRedisBus({ url: redis.url, deliver: () => {} }), (b: Bus) => b.close());
    await watched.subscribe("/:c");
    await publisher.publish("/:c", Buffer.from("before"));
    await log.waitFor((e) => e.kind === "deliver" && e.text === "before");

    const from = log.items.length;
    expect(proxy.muteSubscribers()).toBe(1);
    await publisher.publish("/:c", Buffer.from("lost"));
    await log.waitFor((e) => e.kind === "canaryFailed", 3000, from, "canary failure");
    await log.waitFor((e) => e.kind === "ready" && !e.ready && e.reason.includes("canary"), 1000, from, "not ready");
    await log.waitFor((e) => e.kind === "ready" && e.ready, 3000, from, "ready again");

    await publisher.publish("/:c", Buffer.from("after"));
    await log.waitFor((e) => e.kind === "deliver" && e.text === "after", 3000, from, "delivery after recovery");
    const delivered = log.items.filter((e) => e.kind === "deliver").map((e) => (e as { text: string }).text);
    expect(delivered).toEqual(["before", "after"]);
  });

  it("stays quiet while subscriptions are healthy", async () => {
    const log = new EventLog<Happening>();
    const bus = resources.add(
      await readyRedisBus({
        url: redis.url,
        node: "quiet-node",
        deliver: () => {},
        canaryIntervalMs: 50,
        canaryTimeoutMs: 500,
        observer: {
          canaryFailed: () => log.push({ kind: "canaryFailed" }),
          readyChanged: (ready, reason) => log.push({ kind: "ready", ready, reason }),
        },
      }),
      (b: Bus) => b.close(),
    );
    await bus.subscribe("/:quiet");
    // Watch the canary itself from a connection of the test's own.
    const watcher = resources.add(new Redis(redis.port, "127.0.0.1"), (r) => r.disconnect());
    const rounds = new EventLog<string>();
    watcher.on("message", (_channel: string, token: string) => rounds.push(token));
    await watcher.subscribe("rocket:canary:quiet-node");
    await rounds.waitFor(() => rounds.items.length >= 10, 5000, 0, "ten canary rounds");
    expect(log.items).toEqual([{ kind: "ready", ready: true, reason: "subscribed" }]);
    expect(bus.isReady()).toBe(true);
  });
});
