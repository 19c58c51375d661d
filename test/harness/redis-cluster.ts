import { freePort, until } from "./ports.js";
import { type RedisProc, redisCli, startRedis } from "./redis.js";

/** A Redis Cluster of masters only, started for a test. */
export interface RedisClusterProc {
  readonly masters: readonly RedisProc[];
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…` */
  readonly url: string;
  /** The master that owns `name`'s hash slot (a key or a shard channel). */
  ownerOf(name: string): Promise<RedisProc>;
  /** `PUBSUB SHARDNUMSUB channel` summed over the masters. */
  shardNumSub(channel: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts `masters` cluster-enabled redis-servers on free ports (client and cluster-bus ports
 * both chosen free), joins them with `redis-cli --cluster create … --cluster-replicas 0`,
 * and resolves once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(options: { masters?: number } = {}): Promise<RedisClusterProc> {
  const count = options.masters ?? 3;
  const masters: RedisProc[] = [];
  const stop = async () => {
    await Promise.allSettled(masters.map((m) => m.stop()));
  };
  try {
    for (let i = 0; i < count; i++) {
      const busPort = await freePort();
      masters.push(
        await startRedis([
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          "nodes.conf",
          "--cluster-port",
          String(busPort),
          "--cluster-node-timeout",
          "2000",
        ]),
      );
    }
    const [first] = masters;
    if (first === undefined) throw new Error("a cluster needs at least one master");
    await redisCli(first.port, [
      "--cluster",
      "create",
      ...masters.map((m) => `127.0.0.1:${m.port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    await until(
      async () => {
        const states = await Promise.all(masters.map((m) => m.cli("CLUSTER", "INFO")));
        return states.every((s) => s.includes("cluster_state:ok"));
      },
      20_000,
      "cluster_state:ok on every node",
      100,
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const byPort = new Map(masters.map((m) => [m.port, m]));
  const [first] = masters;
  if (first === undefined) throw new Error("a cluster needs at least one master");
  return {
    masters,
    url: `redis+cluster://${masters.map((m) => `127.0.0.1:${m.port}`).join(",")}`,
    async ownerOf(name) {
      const slot = Number(await first.cli("CLUSTER", "KEYSLOT", name));
      // CLUSTER NODES: <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges…>
      for (const line of (await first.cli("CLUSTER", "NODES")).split("\n")) {
        const [, address, flags, , , , , , ...ranges] = line.trim().split(" ");
        if (!flags?.includes("master")) continue;
        const owns = ranges.some((range) => {
          const [from, to = from] = range.split("-").map(Number);
          return from !== undefined && to !== undefined && slot >= from && slot <= to;
        });
        if (!owns) continue;
        const master = byPort.get(Number(address?.split("@")[0]?.split(":").pop()));
        if (master) return master;
      }
      throw new Error(`no master owns slot ${slot} of ${name}`);
    },
    async shardNumSub(channel) {
      const outs = await Promise.all(masters.map((m) => m.cli("PUBSUB", "SHARDNUMSUB", channel)));
      return outs.reduce((sum, out) => sum + Number(out.split("\n")[1] ?? 0), 0);
    },
    stop,
  };
}
