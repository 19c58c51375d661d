import { afterAll, beforeAll } from "vitest";
import { type RedisClusterProc, type RedisProc, startRedis, startRedisCluster } from "../../../test/harness/index.js";
import { runBusContract } from "./bus-contract.js";
import { readyRedisBus } from "./redis-bus.js";

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
  create: (deliver, scope) => readyRedisBus({ url: redis.url, deliver, prefix: `rocket:${scope}:` }),
});

runBusContract("Redis Cluster (sharded pub/sub)", {
  multiNode: true,
  create: (deliver, scope) => readyRedisBus({ url: cluster.url, deliver, prefix: `rocket:${scope}:` }),
});
