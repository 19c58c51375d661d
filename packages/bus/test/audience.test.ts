import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisClusterProc, type RedisProc, startRedis, startRedisCluster, until } from "../../../test/harness/index.js";
import {
  audienceEventNames,
  createMemoryAudience,
  createMemoryBus,
  createMemoryEventQueue,
  createRedisAudience,
  createRedisEventQueue,
} from "../src/index.js";
import { type AudienceNode, runAudienceContract } from "./audience-contract.js";
import { readyRedisBus } from "./redis-bus.js";

const everyEvent = new Set(audienceEventNames);
/** Short timings, so a crash is noticed quickly: leases live 600 ms, checked every 200 ms. */
const refreshMs = 200;
const leaseMs = 600;

let redis: RedisProc;
let cluster: RedisClusterProc;
beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster({ masters: 3 })]);
});
afterAll(async () => {
  await Promise.allSettled([redis?.stop(), cluster?.stop()]);
});

runAudienceContract("in-process", {
  multiNode: false,
  async create() {
    const bus = createMemoryBus();
    const queue = createMemoryEventQueue();
    const audience = createMemoryAudience(bus, { events: everyEvent, sink: queue });
    return { bus, audience, queue, close: async () => void (await Promise.all([audience.close(), bus.close()])) };
  },
});

async function redisNode(url: string, scope: string): Promise<AudienceNode> {
  const node = `test-${randomUUID().slice(0, 8)}`;
  const bus = await readyRedisBus({ url, prefix: `rocket:${scope}:`, node, heartbeatIntervalMs: refreshMs });
  const audience = createRedisAudience(bus, { node, events: everyEvent, refreshMs, leaseMs });
  const queue = createRedisEventQueue(bus, { node });
  return {
    bus,
    audience,
    queue,
    // The bus goes, the audience is never told: its lease runs out as a dead node's would.
    crash: async () => {
      await bus.close();
    },
    close: async () => {
      await audience.close();
      await bus.close();
    },
  };
}

runAudienceContract("Redis", { multiNode: true, vanishMs: leaseMs + refreshMs, create: (scope) => redisNode(redis.url, scope) });
runAudienceContract("Redis Cluster", {
  multiNode: true,
  vanishMs: leaseMs + refreshMs,
  create: (scope) => redisNode(cluster.url, scope),
});

describe("Redis audience", () => {
  it("a node that lost its lease (stalled) writes its part again under a new name: no leave, no ghost", async () => {
    const scope = randomUUID();
    const a = await redisNode(redis.url, scope);
    try {
      const heard: string[] = [];
      a.bus.onDeliver((_t, frame) => heard.push(Buffer.from(frame).toString()));
      a.audience.onDescribe(() => ({ history: false, frames: { join: "join:", leave: "leave:", tail: "" } }));
      await a.bus.subscribe("t");
      a.audience.setUser("t", '"alice"', 1);
      await a.audience.settled();
      const members = async () => (await redis.cli("SMEMBERS", `rocket:${scope}:presence:members`)).split("\n").filter(Boolean);
      const [first] = await members();
      expect(first).toBeDefined();
      await redis.cli("DEL", `rocket:${scope}:presence:lease:${first}`);
      const replaced = async () => {
        const now = await members();
        return now.length === 1 && now[0] !== first;
      };
      await until(replaced, 5000, "member replaced", 50);
      expect(await a.audience.users("t")).toEqual([{ user: '"alice"', connections: 1 }]);
      expect(heard).toEqual(['join:"alice"']);
      expect(await redis.cli("EXISTS", `rocket:${scope}:presence:topics:${first}`)).toBe("0");
    } finally {
      await a.close();
    }
  });
});
