import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisClusterProc, type RedisProc, startRedis, startRedisCluster } from "../../../test/harness/index.js";
import type { Bus } from "../src/index.js";
import { runBusContract } from "./bus-contract.js";
import { readyRedisNode } from "./redis-bus.js";

let redis: RedisProc;
let cluster: RedisClusterProc;
beforeAll(async () => {
  [redis, cluster] = await Promise.all([startRedis(), startRedisCluster({ masters: 3 })]);
});
afterAll(async () => {
  await Promise.allSettled([redis?.stop(), cluster?.stop()]);
});

/** Each test bus's node name, which names its connections (`rocket-sub:<node>`). */
const nodes = new WeakMap<Bus, string>();

async function create(url: string, scope: string) {
  const node = `test-${randomUUID().slice(0, 8)}`;
  const created = await readyRedisNode({ url, prefix: `rocket:${scope}:`, node });
  nodes.set(created.bus, node);
  return created;
}

/** `CLIENT KILL` of every subscriber connection of `bus` on `servers` (one per shard on a cluster). */
async function killSubscriber(servers: readonly RedisProc[], bus: Bus): Promise<void> {
  const name = `name=rocket-sub:${nodes.get(bus)} `;
  let killed = 0;
  for (const server of servers) {
    for (const line of (await server.cli("CLIENT", "LIST")).split("\n")) {
      const id = line.includes(name) ? /^id=(\d+)/.exec(line)?.[1] : undefined;
      if (id === undefined) continue;
      await server.cli("CLIENT", "KILL", "ID", id);
      killed += 1;
    }
  }
  if (killed === 0) throw new Error(`no subscriber connection of ${nodes.get(bus)}`);
}

runBusContract("Redis", {
  multiNode: true,
  create: (scope) => create(redis.url, scope),
  cutReceiver: (bus) => killSubscriber([redis], bus),
});

runBusContract("Redis Cluster (sharded pub/sub)", {
  multiNode: true,
  create: (scope) => create(cluster.url, scope),
  cutReceiver: (bus) => killSubscriber(cluster.masters, bus),
});

describe("history scripts", () => {
  const keep = { size: 10, ttlMs: 60_000 };
  const format = { offset: ',"offset":', epoch: ',"epoch":"', end: '"}' };

  it("publish again after Redis forgot the script (SCRIPT FLUSH): once each, in order", async () => {
    for (const [servers, url] of [
      [[redis], redis.url],
      [cluster.masters, cluster.url],
    ] as const) {
      const got: string[] = [];
      const { bus } = await create(url, `t${randomUUID().slice(0, 8)}`);
      try {
        bus.onDeliver((_topic, frame) => got.push(Buffer.from(frame).toString()));
        await bus.subscribe("/:flush", keep);
        await bus.publishWithHistory("/:flush", Buffer.from('{"n":1'), keep, format);
        for (const server of servers) await server.cli("SCRIPT", "FLUSH");
        const positions = await Promise.all(
          [2, 3, 4].map((n) => bus.publishWithHistory("/:flush", Buffer.from(`{"n":${n}`), keep, format)),
        );
        expect(positions.map((p) => p.offset)).toEqual([2, 3, 4]);
        const deadline = Date.now() + 5000;
        while (got.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(got.map((f) => (JSON.parse(f) as { n: number }).n)).toEqual([1, 2, 3, 4]);
      } finally {
        await bus.close();
      }
    }
  });
});
