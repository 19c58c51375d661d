import { BusUnavailableError } from "./bus.js";
import type { NodeDirectory } from "./presence.js";
import type { RedisBus } from "./redis-bus-types.js";

/**
 * The live nodes of a Redis cluster of gateways, from the heartbeats every node keeps
 * (redis-heartbeat.ts): the members of `rocket:nodes` whose heartbeat key has not expired.
 * A node killed drops out within the heartbeat's lifetime (3 s by default).
 */
export function createRedisDirectory(bus: RedisBus, node: string): NodeDirectory {
  const redis = bus.attach({ name: "directory", restore: async () => {} });
  return {
    self: node,
    async alive() {
      if (!redis.isReady()) throw new BusUnavailableError("Redis not ready");
      const { commands, names } = redis;
      try {
        const members = (await commands.smembers(names.nodes)).filter((m) => m !== node);
        const beats = await Promise.all(members.map((m) => commands.get(names.heartbeat(m))));
        return [node, ...members.filter((_, i) => beats[i] !== null)];
      } catch (err) {
        throw new BusUnavailableError("Redis did not answer the node list", { cause: err });
      }
    },
  };
}

/** The one node of the in-process bus. */
export function createMemoryDirectory(node: string): NodeDirectory {
  return { self: node, alive: async () => [node] };
}
