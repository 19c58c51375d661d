import { BusUnavailableError, type ChannelRegistry, type RegistryObserver } from "./bus.js";
import type { RedisAccess, RedisBus } from "./bus-redis.js";
import { ChannelCache } from "./registry-cache.js";

/** Re-seeding sends this many channels per SADD. */
const reseedBatch = 1000;

/**
 * The cluster-wide channel registry: one Redis set per hub (`rocket:channels:<hub>`), cached
 * on every node, on the Redis bus's connections. Channels are never deleted, so a cached
 * "yes" stays true and publishing to a known channel costs no round trip. A lookup already
 * in flight for a channel is shared: callers that asked earlier get their answer first, so
 * a publisher's messages keep their order even while the cache fills. After Redis came back
 * empty the bus has every node write its cached channels back before it turns ready.
 */
export function createRedisRegistry(
  bus: RedisBus,
  options: { readonly observer?: RegistryObserver | undefined } = {},
): ChannelRegistry {
  const { observer } = options;
  const known = new ChannelCache((count) => observer?.knownChannels?.(count));
  const lookups = new Map<string, Promise<boolean>>();

  const reseed = async ({ commands, names }: RedisAccess): Promise<void> => {
    const writes: Promise<number>[] = [];
    for (const [hub, channels] of known.entries()) {
      const all = [...channels];
      for (let i = 0; i < all.length; i += reseedBatch) {
        writes.push(commands.sadd(names.registry(hub), all.slice(i, i + reseedBatch)));
      }
    }
    await Promise.all(writes);
  };
  const redis = bus.attach({ name: "registry", restore: reseed });

  return {
    async register(hub, channel) {
      if (known.has(hub, channel)) return;
      try {
        await redis.commands.sadd(redis.names.registry(hub), [channel]);
      } catch (err) {
        throw new BusUnavailableError("Redis did not record the channel", { cause: err });
      }
      known.add(hub, channel);
    },
    exists(hub, channel) {
      if (known.has(hub, channel)) return true;
      if (!redis.isReady()) return Promise.reject(new BusUnavailableError("Redis is not available"));
      const id = `${hub}\n${channel}`;
      let lookup = lookups.get(id);
      if (lookup === undefined) {
        lookup = redis.commands.sismember(redis.names.registry(hub), channel).then(
          (found) => {
            lookups.delete(id);
            if (found === 1) known.add(hub, channel);
            return found === 1;
          },
          (err: unknown) => {
            lookups.delete(id);
            throw new BusUnavailableError("Redis did not answer the channel lookup", { cause: err });
          },
        );
        lookups.set(id, lookup);
      }
      return lookup;
    },
  };
}
