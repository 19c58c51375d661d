import type { RedisCommands } from "./redis-link.js";
import type { RedisNames } from "./redis-names.js";

/** How often a recovering node looks whether its peers are back. */
const peerPollMs = 50;

export interface HeartbeatDeps {
  readonly names: RedisNames;
  readonly commands: RedisCommands;
  readonly node: string;
  /** Lifetime of a heartbeat key; a node silent for this long counts as gone. */
  readonly ttlMs: number;
}

/** Peers that appeared or disappeared since the last beat. */
export interface PeerChanges {
  readonly joined: string[];
  readonly gone: string[];
}

/**
 * Per-node heartbeats that let a node tell when the others have resubscribed after Redis
 * came back. Each node keeps `rocket:node:<node>` = the run ids of the Redis servers it has
 * subscribed everything on (one server: its run id; a Cluster: one per master, sorted and
 * comma-separated), with a TTL, and lists itself in the `rocket:nodes` set. While healthy a
 * node notes the peers it sees; after a server restarted or was replaced (a new run id) it
 * waits until each of those lists the new run id too (or a grace period passed) before it
 * acknowledges publishes on that server again, because until then a publish could reach
 * Redis before a peer's subscribers are back and be acknowledged without being delivered to
 * them.
 */
export interface Heartbeat {
  /** The run id this node restored each shard on; what `register` writes. */
  readonly runIds: ReadonlyMap<string, string>;
  /** Records that this node is subscribed on `shard`'s server `runId`; written by the next `register`. */
  set(shard: string, runId: string): void;
  /** Forgets a shard that is gone (a master no longer in the slot table). */
  drop(shard: string): void;
  /** Writes this node's heartbeat with the run ids recorded so far. */
  register(): Promise<void>;
  /** Writes the heartbeat again (once registered) and refreshes the peers seen (drops those whose key expired). */
  beat(): Promise<PeerChanges>;
  /**
   * Resolves once every peer seen before, or listed alive by the server now, lists `runId`,
   * or after `graceMs`, with the peers given up on. Rejects when `stillValid` turns false.
   */
  waitForPeers(runId: string, graceMs: number, stillValid: () => boolean): Promise<string[]>;
  /** Removes this node's heartbeat (on a clean close). */
  deregister(): Promise<void>;
  /** Peers seen while healthy, with the run ids they listed. */
  readonly peers: ReadonlyMap<string, readonly string[]>;
}

const listOf = (value: string) => value.split(",");

export function createHeartbeat(deps: HeartbeatDeps): Heartbeat {
  const { names, commands, node, ttlMs } = deps;
  const peers = new Map<string, readonly string[]>();
  const ownKey = names.heartbeat(node);
  const runIds = new Map<string, string>();

  const register = async () => {
    await commands.setWithTtl(ownKey, [...runIds.values()].sort().join(","), ttlMs);
    await commands.sadd(names.nodes, [node]);
  };

  /** The other nodes the server lists, those `wanted`, each with its heartbeat (null: expired). */
  const listed = async (wanted: (m: string) => boolean): Promise<[string, string | null][]> => {
    const others = (await commands.smembers(names.nodes)).filter((m) => m !== node && wanted(m));
    const values = await Promise.all(others.map((m) => commands.get(names.heartbeat(m))));
    return others.map((m, i) => [m, values[i] ?? null]);
  };

  return {
    peers,
    runIds,
    set(shard, runId) {
      runIds.set(shard, runId);
    },
    drop(shard) {
      runIds.delete(shard);
    },
    register,
    async beat() {
      if (runIds.size > 0) await register();
      const alive = new Set<string>();
      const joined: string[] = [];
      for (const [m, seen] of await listed(() => true)) {
        // No key: it expired and the node is gone (a node writes its key before listing itself).
        if (seen === null) {
          void commands.srem(names.nodes, m).catch(() => {});
          continue;
        }
        if (!peers.has(m)) joined.push(m);
        peers.set(m, listOf(seen));
        alive.add(m);
      }
      const gone = [...peers.keys()].filter((m) => !alive.has(m));
      for (const m of gone) peers.delete(m);
      return { joined, gone };
    },
    async waitForPeers(runId, graceMs, stillValid) {
      const deadline = performance.now() + graceMs;
      // Peers this node has not seen yet but the server lists alive are waited for too: those
      // that came up since its last heartbeat round (its first second, say), kept by a
      // replica promoted in a failover. A server that restarted empty lists none. They join
      // the peers seen at the next round, as any newcomer does.
      const lists = new Map(peers);
      for (const [m, seen] of await listed((m) => !peers.has(m))) if (seen !== null) lists.set(m, listOf(seen));
      let waiting = [...lists].filter(([, ids]) => !ids.includes(runId)).map(([m]) => m);
      while (waiting.length > 0) {
        if (!stillValid()) throw new Error("connection changed while waiting for peers");
        const values = await Promise.all(waiting.map((m) => commands.get(names.heartbeat(m))));
        waiting = waiting.filter((m, i) => {
          const ids = listOf(values[i] ?? "");
          if (!ids.includes(runId)) return true;
          if (peers.has(m)) peers.set(m, ids);
          return false;
        });
        if (waiting.length === 0) break;
        if (performance.now() >= deadline) {
          for (const m of waiting) peers.delete(m);
          return waiting;
        }
        await new Promise((r) => setTimeout(r, peerPollMs).unref());
      }
      return [];
    },
    async deregister() {
      await Promise.all([commands.del(ownKey), commands.srem(names.nodes, node)]);
    },
  };
}
