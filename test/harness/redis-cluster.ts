import { must } from "./must.js";
import { freePort, until } from "./ports.js";
import { type RedisProc, redisCli, startRedis } from "./redis.js";

export interface RedisClusterOptions {
  /** Masters, each owning an equal share of the slots. Default 3. */
  readonly masters?: number;
  /** Replicas per master (6 processes for 3 masters and 1 replica each). Default 0. */
  readonly replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: how long a master may be unreachable before the others mark it
   * failed and its replica takes over. Default 2000.
   */
  readonly nodeTimeoutMs?: number;
}

/** A Redis Cluster started for a test. */
export interface RedisClusterProc {
  /** The masters as the cluster was created (a failover does not change this list). */
  readonly masters: readonly RedisProc[];
  /** The replicas as the cluster was created. */
  readonly replicas: readonly RedisProc[];
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…` (the masters as created). */
  readonly url: string;
  /** The master that owns `name`'s hash slot now (a key or a shard channel). */
  ownerOf(name: string): Promise<RedisProc>;
  /** The node that replicates `master` now. */
  replicaOf(master: RedisProc): Promise<RedisProc>;
  /**
   * Resolves with the node that took over `failed`'s slots, once every live node reports it
   * as a master, `failed` as failed, and `cluster_state:ok`.
   */
  waitForFailover(failed: RedisProc, timeoutMs?: number): Promise<RedisProc>;
  /** `PUBSUB SHARDNUMSUB channel` summed over the live masters. */
  shardNumSub(channel: string): Promise<number>;
  stop(): Promise<void>;
}

/** One line of `CLUSTER NODES`. */
interface NodeLine {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  /** The id of the master this node replicates, for a replica. */
  readonly masterId: string | undefined;
  readonly slots: readonly (readonly [number, number])[];
}

// CLUSTER NODES: <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges…>
function parseNodes(text: string): NodeLine[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((line) => {
      const [id = "", address = "", flags = "", master = "-", , , , , ...ranges] = line.trim().split(" ");
      const slots = ranges
        .filter((r) => !r.startsWith("["))
        .map((r) => {
          const [from = 0, to = from] = r.split("-").map(Number);
          return [from, to] as const;
        });
      return {
        id,
        port: Number(address.split("@")[0]?.split(":").pop()),
        flags: flags.split(","),
        masterId: master === "-" ? undefined : master,
        slots,
      };
    });
}

const isAlive = (node: RedisProc) => node.proc.child.exitCode === null && node.proc.child.signalCode === null;

/**
 * Starts `masters × (1 + replicasPerMaster)` cluster-enabled redis-servers on free ports
 * (client and cluster-bus ports both chosen free), joins them with `redis-cli --cluster
 * create`, and resolves once every node reports `cluster_state:ok` and every replica's link
 * to its master is up (so that it can be promoted).
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterProc> {
  const masterCount = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 0;
  const nodes: RedisProc[] = [];
  const stop = async () => {
    await Promise.allSettled(nodes.map((m) => m.stop()));
  };
  const live = () => nodes.filter(isAlive);
  const byPort = (port: number) => nodes.find((n) => n.port === port);
  /** CLUSTER NODES as seen by the first live node that answers. */
  const view = async (): Promise<NodeLine[]> => {
    for (const node of live()) {
      try {
        return parseNodes(await node.cli("CLUSTER", "NODES"));
      } catch {
        // Not answering (stopped, or just killed): ask the next one.
      }
    }
    throw new Error("no live cluster node answers");
  };

  let masters: RedisProc[] = [];
  let replicas: RedisProc[] = [];
  try {
    for (let i = 0; i < masterCount * (1 + replicasPerMaster); i++) {
      const busPort = await freePort();
      nodes.push(
        await startRedis([
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          "nodes.conf",
          "--cluster-port",
          String(busPort),
          "--cluster-node-timeout",
          String(options.nodeTimeoutMs ?? 2000),
        ]),
      );
    }
    await redisCli(must(nodes[0]).port, [
      "--cluster",
      "create",
      ...nodes.map((m) => `127.0.0.1:${m.port}`),
      "--cluster-replicas",
      String(replicasPerMaster),
      "--cluster-yes",
    ]);
    await until(
      async () => {
        const states = await Promise.all(nodes.map((m) => m.cli("CLUSTER", "INFO")));
        if (!states.every((s) => s.includes("cluster_state:ok"))) return false;
        // Every node must know every other's role before roles are read.
        const lines = parseNodes(await must(nodes[0]).cli("CLUSTER", "NODES"));
        return lines.filter((l) => l.flags.includes("slave")).length === masterCount * replicasPerMaster;
      },
      20_000,
      "cluster_state:ok on every node",
      100,
    );
    const lines = parseNodes(await must(nodes[0]).cli("CLUSTER", "NODES"));
    masters = lines.filter((l) => l.flags.includes("master")).map((l) => must(byPort(l.port)));
    replicas = lines.filter((l) => l.flags.includes("slave")).map((l) => must(byPort(l.port)));
    await until(
      async () =>
        (await Promise.all(replicas.map((r) => r.cli("INFO", "replication")))).every((i) => /master_link_status:up/.test(i)),
      20_000,
      "every replica's link to its master up",
      100,
    );
  } catch (err) {
    await stop();
    throw err;
  }

  // The slots each master owned at the start: what its replica must own after a failover.
  const slotsAtStart = new Map((await view()).map((l) => [l.port, l.slots]));
  return {
    masters,
    replicas,
    url: `redis+cluster://${masters.map((m) => `127.0.0.1:${m.port}`).join(",")}`,
    async ownerOf(name) {
      const asker = live()[0];
      if (asker === undefined) throw new Error("no live cluster node");
      const slot = Number(await asker.cli("CLUSTER", "KEYSLOT", name));
      for (const line of await view()) {
        if (!line.flags.includes("master") || line.flags.includes("fail")) continue;
        if (!line.slots.some(([from, to]) => slot >= from && slot <= to)) continue;
        const owner = byPort(line.port);
        if (owner) return owner;
      }
      throw new Error(`no master owns slot ${slot} of ${name}`);
    },
    async replicaOf(master) {
      const lines = await view();
      const id = lines.find((l) => l.port === master.port)?.id;
      const replica = lines.find((l) => l.masterId === id && l.flags.includes("slave"));
      const proc = replica && byPort(replica.port);
      if (!proc) throw new Error(`no replica of 127.0.0.1:${master.port}`);
      return proc;
    },
    async waitForFailover(failed, timeoutMs = 20_000) {
      let promoted: RedisProc | undefined;
      await until(
        async () => {
          const views = await Promise.all(
            live().map(async (n) => ({
              info: await n.cli("CLUSTER", "INFO"),
              lines: parseNodes(await n.cli("CLUSTER", "NODES")),
            })),
          ).catch(() => undefined);
          if (views === undefined) return false;
          const failedOk = views.every((v) => v.lines.find((l) => l.port === failed.port)?.flags.includes("fail"));
          if (!failedOk || !views.every((v) => v.info.includes("cluster_state:ok"))) return false;
          const lost = slotsAtStart.get(failed.port) ?? [];
          const owners = views.map((v) =>
            v.lines.find(
              (l) =>
                l.port !== failed.port &&
                l.flags.includes("master") &&
                lost.every(([from, to]) => l.slots.some(([a, b]) => a <= from && to <= b)),
            ),
          );
          const first = owners[0];
          if (first === undefined || !owners.every((o) => o?.port === first.port)) return false;
          promoted = byPort(first.port);
          return promoted !== undefined;
        },
        timeoutMs,
        `failover of 127.0.0.1:${failed.port}`,
        100,
      );
      return must(promoted);
    },
    async shardNumSub(channel) {
      const outs = await Promise.all(live().map((m) => m.cli("PUBSUB", "SHARDNUMSUB", channel)));
      return outs.reduce((sum, out) => sum + Number(out.split("\n")[1] ?? 0), 0);
    },
    stop,
  };
}
