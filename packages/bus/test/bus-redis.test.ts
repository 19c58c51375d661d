import { afterAll, beforeAll } from "vitest";
import { type RedisClusterProc, type RedisProc, startRedis, startRedisCluster } from "../../../test/harness/index.js";
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

runBusContract("Redis", {
  multiNode: true,
  create: (scope) => readyRedisNode({ url: redis.url, prefix: `rocket:${scope}:` }),
});

runBusContract("Redis Cluster (sharded pub/sub)", {
  multiNode: true,
  create: (scope) => readyRedisNode({ url: cluster.url, prefix: `rocket:${scope}:` }),
});
