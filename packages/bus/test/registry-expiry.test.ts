import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type RedisClusterProc,
  type RedisProc,
  redisCli,
  startRedis,
  startRedisCluster,
  until,
} from "../../../test/harness/index.js";
import { type ChannelRegistry, createMemoryRegistry, createRedisRegistry, type RedisBus } from "../src/index.js";
import { readyRedisBus } from "./redis-bus.js";

describe("the in-process registry with a TTL", () => {
  it("forgets a channel a TTL after its last subscriber or publish, never while one holds it", () => {
    let now = 0;
    const expired: number[] = [];
    const registry = createMemoryRegistry({ ttlMs: 1000, now: () => now, observer: { channelsExpired: (n) => expired.push(n) } });
    try {
      void registry.register("/", "held");
      void registry.register("/", "left");
      registry.release("/", "left");
      void registry.register("/", "published");
      registry.release("/", "published");
      now = 900;
      expect(registry.publishing("/", "published")).toBe(true);
      now = 1000;
      expect(["held", "left", "published"].map((c) => registry.exists("/", c))).toEqual([true, false, true]);
      now = 1899;
      expect(registry.exists("/", "published")).toBe(true);
      now = 1900;
      expect(registry.exists("/", "published")).toBe(false);
      now = 100_000;
      expect(registry.exists("/", "held")).toBe(true);
      // Subscribed again, it exists again.
      void registry.register("/", "left");
      expect(registry.exists("/", "left")).toBe(true);
    } finally {
      registry.close();
    }
  });

  it("keeps channels for ever with TTL 0", () => {
    let now = 0;
    const registry = createMemoryRegistry({ ttlMs: 0, now: () => now });
    void registry.register("/", "c");
    registry.release("/", "c");
    now = 10 ** 12;
    expect(registry.exists("/", "c")).toBe(true);
    registry.close();
  });
});

/** The same rules through Redis, on one server and on a Cluster. */
function redisExpiry(name: string, target: () => { url: string; cli: (...args: string[]) => Promise<string> }) {
  describe(`the Redis registry with a TTL (${name})`, () => {
    const ttlMs = 1500;
    const opened: { bus: RedisBus; registry: ChannelRegistry }[] = [];
    const node = async (prefix: string) => {
      const bus = await readyRedisBus({ url: target().url, prefix });
      const registry = createRedisRegistry(bus, { ttlMs });
      opened.push({ bus, registry });
      return registry;
    };
    afterAll(async () => {
      for (const { bus, registry } of opened) {
        registry.close();
        await bus.close();
      }
    });

    it("expires channels cluster-wide once nobody holds or publishes them, keeping the ones that are", async () => {
      const prefix = `rocket:exp-${Math.random().toString(36).slice(2, 8)}:`;
      const [a, b] = [await node(prefix), await node(prefix)];
      const set = `${prefix}channels:/`;
      const active = `{${set}}:active`;
      await a.register("/", "held");
      await a.register("/", "gone");
      a.release("/", "gone");
      await b.register("/", "busy");
      b.release("/", "busy");
      expect(await b.exists("/", "gone")).toBe(true);
      expect(await target().cli("SCARD", set)).toBe("3");
      const started = Date.now();
      // `busy` is published through node b all along; `gone` has nothing.
      await until(
        async () => {
          await b.publishing("/", "busy");
          return (await target().cli("SISMEMBER", set, "gone")) === "0";
        },
        10_000,
        "the idle channel to expire",
        50,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(ttlMs / 2);
      expect(await target().cli("ZSCORE", active, "gone")).toBe("");
      // Both nodes stop trusting their cached answer.
      await until(
        async () => {
          await b.publishing("/", "busy");
          return (await a.exists("/", "gone")) === false && (await b.exists("/", "gone")) === false;
        },
        5000,
        "caches",
      );
      // Past a TTL since the others were last written, the held and the busy channel remain.
      await until(
        async () => {
          await b.publishing("/", "busy");
          return Date.now() - started > 2 * ttlMs;
        },
        5000,
        "two TTLs",
        50,
      );
      expect(await target().cli("SISMEMBER", set, "held")).toBe("1");
      expect(await target().cli("SISMEMBER", set, "busy")).toBe("1");
      expect(await b.exists("/", "held")).toBe(true);
      // Subscribed again, the forgotten channel exists again.
      await b.register("/", "gone");
      expect(await a.exists("/", "gone")).toBe(true);
    });

    it("sweeps a flood of thousands of channels, freeing their memory in Redis", async () => {
      const prefix = `rocket:flood-${Math.random().toString(36).slice(2, 8)}:`;
      const a = await node(prefix);
      const set = `${prefix}channels:/`;
      const names = Array.from({ length: 3000 }, (_, i) => `flood-${i}`);
      for (let i = 0; i < names.length; i += 500) {
        await Promise.all(names.slice(i, i + 500).map((n) => a.register("/", n)));
      }
      for (const n of names) a.release("/", n);
      expect(Number(await target().cli("SCARD", set))).toBe(3000);
      const before =
        Number(await target().cli("MEMORY", "USAGE", set)) + Number(await target().cli("MEMORY", "USAGE", `{${set}}:active`));
      expect(before).toBeGreaterThan(3000 * 10);
      await until(async () => (await target().cli("EXISTS", set)) === "0", 10_000, "the flood to be swept", 100);
      expect(await target().cli("EXISTS", `{${set}}:active`)).toBe("0");
    });
  });
}

let redis: RedisProc;
let cluster: RedisClusterProc;
beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster({ masters: 3 })]);
});
afterAll(async () => {
  await Promise.allSettled([redis?.stop(), cluster?.stop()]);
});

redisExpiry("one server", () => redis);
// redis-cli -c follows the cluster's redirects to the master that owns each key.
redisExpiry("Redis Cluster", () => ({
  url: cluster.url,
  cli: (...args) => redisCli((cluster.masters[0] as RedisProc).port, ["-c", ...args]),
}));
