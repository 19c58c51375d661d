import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, until } from "./ports.js";
import { type Proc, startProcess } from "./process.js";
import { type RedisProc, redisCli, startRedis } from "./redis.js";

export interface RedisSentinelOptions {
  /** The master's name in the Sentinels' configuration. Default "rocket". */
  readonly masterName?: string;
  /** Sentinels; a majority of them must agree on a failover. Default 3 (quorum 2). */
  readonly sentinels?: number;
  /**
   * `sentinel down-after-milliseconds`: how long the master may not answer before a Sentinel
   * deems it down. Default 1000.
   */
  readonly downAfterMs?: number;
}

/** A Sentinel process. */
export interface SentinelProc {
  readonly port: number;
  readonly proc: Proc;
  cli(...args: string[]): Promise<string>;
}

/** A master, its replica and the Sentinels watching them, started for a test. */
export interface RedisSentinelProc {
  readonly masterName: string;
  /** The master as started (a failover does not change this). */
  readonly master: RedisProc;
  /** The replica as started. */
  readonly replica: RedisProc;
  readonly sentinels: readonly SentinelProc[];
  /** `redis+sentinel://127.0.0.1:p1,127.0.0.1:p2,…/<masterName>` */
  readonly url: string;
  /**
   * Resolves with the server that replaced `failed`, once every live Sentinel names it as
   * the master and it reports itself a master.
   */
  waitForFailover(failed: RedisProc, timeoutMs?: number): Promise<RedisProc>;
  stop(): Promise<void>;
}

const isAlive = (p: Proc) => p.child.exitCode === null && p.child.signalCode === null;

/**
 * Starts a master and one replica (`redis-server`), waits until the replica is in sync, then
 * `sentinels` Sentinels (`redis-sentinel`, each with a config file in a temp dir, since a
 * Sentinel rewrites its own) on free ports, and resolves once each one knows the replica and
 * every other Sentinel, so that a failover can be agreed on at once.
 */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelProc> {
  const masterName = options.masterName ?? "rocket";
  const count = options.sentinels ?? 3;
  const quorum = Math.floor(count / 2) + 1;
  const servers: RedisProc[] = [];
  const sentinels: SentinelProc[] = [];
  const stop = async () => {
    await Promise.allSettled([...sentinels.map((s) => s.proc.stop()), ...servers.map((s) => s.stop())]);
  };
  try {
    const master = await startRedis();
    servers.push(master);
    const replica = await startRedis(["--replicaof", "127.0.0.1", String(master.port)]);
    servers.push(replica);
    await until(
      async () => /master_link_status:up/.test(await replica.cli("INFO", "replication")),
      20_000,
      "the replica in sync",
      50,
    );
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), "rocket-sentinel-"));
      const config = join(dir, "sentinel.conf");
      writeFileSync(
        config,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${dir}`,
          `sentinel monitor ${masterName} 127.0.0.1 ${master.port} ${quorum}`,
          `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${masterName} 5000`,
          `sentinel parallel-syncs ${masterName} 1`,
          "",
        ].join("\n"),
      );
      const proc = startProcess("redis-sentinel", [config]);
      sentinels.push({ port, proc, cli: (...args) => redisCli(port, args) });
      await proc.waitForLine(/\+monitor master/, 10_000);
    }
    await until(
      async () => {
        const views = await Promise.all(
          sentinels.map(async (s) => ({
            replicas: (await s.cli("SENTINEL", "REPLICAS", masterName)).split("\n").filter((l) => l === "name").length,
            others: (await s.cli("SENTINEL", "SENTINELS", masterName)).split("\n").filter((l) => l === "name").length,
          })),
        );
        return views.every((v) => v.replicas === 1 && v.others === count - 1);
      },
      30_000,
      "every Sentinel knowing the replica and the other Sentinels",
      100,
    );
    return {
      masterName,
      master,
      replica,
      sentinels,
      url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(",")}/${masterName}`,
      async waitForFailover(failed, timeoutMs = 30_000) {
        let promoted: RedisProc | undefined;
        await until(
          async () => {
            const named = await Promise.all(
              sentinels
                .filter((s) => isAlive(s.proc))
                .map((s) => s.cli("SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName).catch(() => "")),
            );
            const ports = new Set(named.map((n) => Number(n.split("\n")[1])));
            const [port] = ports;
            if (ports.size !== 1 || port === failed.port) return false;
            promoted = servers.find((s) => s.port === port);
            return promoted !== undefined && /role:master/.test(await promoted.cli("INFO", "replication"));
          },
          timeoutMs,
          `failover of 127.0.0.1:${failed.port}`,
          100,
        );
        return promoted as RedisProc;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
