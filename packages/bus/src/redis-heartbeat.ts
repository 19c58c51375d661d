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
 * came back. Each node keeps `rocket:node:<node>` = the epoch (Redis run id) it last
 * subscribed everything on, with a TTL, and lists itself in the `rocket:nodes` set. While
 * healthy a node notes the peers it sees; after an outage it waits until each of those has
 * re-registered on the new epoch (or a grace period passed) before it acknowledges
 * publishes again, because until then a publish could reach Redis before a peer's
 * subscribers are back and be acknowledged without being delivered to them.
 */
export interface Heartbeat {
  /** The epoch this node last registered on; undefined before the first registration. */
  readonly epoch: string | undefined;
  /** Writes this node's heartbeat: it is subscribed on `epoch`. */
  register(epoch: string): Promise<void>;
  /** Writes the heartbeat again (on the epoch registered last) and refreshes the peers seen (drops those whose key expired). */
  beat(): Promise<PeerChanges>;
  /**
   * Resolves once every peer seen before is registered on `epoch`, or after `graceMs`, with
   * the peers given up on. Rejects when `stillValid` turns false.
   */
  waitForPeers(epoch: string, graceMs: number, stillValid: () => boolean): Promise<string[]>;
  /** Removes this node's heartbeat (on a clean close). */
  deregister(): Promise<void>;
  /** Peers seen while healthy, with the epoch they were on. */
  readonly peers: ReadonlyMap<string, string>;
}

export function createHeartbeat(deps: HeartbeatDeps): Heartbeat {
  const { names, commands, node, ttlMs } = deps;
  const peers = new Map<string, string>();
  const ownKey = names.heartbeat(node);
  let registered: string | undefined;

  const register = async (epoch: string) => {
    await commands.setWithTtl(ownKey, epoch, ttlMs);
    await commands.sadd(names.nodes, [node]);
    registered = epoch;
  };

  return {
    peers,
    get epoch() {
      return registered;
    },
    register,
    async beat() {
      if (registered !== undefined) await register(registered);
      const members = await commands.smembers(names.nodes);
      const others = members.filter((m) => m !== node);
      const epochs = await Promise.all(others.map((m) => commands.get(names.heartbeat(m))));
      const alive = new Set<string>();
      const joined: string[] = [];
      others.forEach((m, i) => {
        const seen = epochs[i];
        // No key: it expired and the node is gone (a node writes its key before listing itself).
        if (seen === null || seen === undefined) {
          void commands.srem(names.nodes, m).catch(() => {});
          return;
        }
        if (!peers.has(m)) joined.push(m);
        peers.set(m, seen);
        alive.add(m);
      });
      const gone = [...peers.keys()].filter((m) => !alive.has(m));
      for (const m of gone) peers.delete(m);
      return { joined, gone };
    },
    async waitForPeers(epoch, graceMs, stillValid) {
      const deadline = performance.now() + graceMs;
      let waiting = [...peers].filter(([, e]) => e !== epoch).map(([m]) => m);
      while (waiting.length > 0) {
        if (!stillValid()) throw new Error("connection changed while waiting for peers");
        const epochs = await Promise.all(waiting.map((m) => commands.get(names.heartbeat(m))));
        waiting = waiting.filter((m, i) => {
          if (epochs[i] !== epoch) return true;
          peers.set(m, epoch);
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
