import { BusUnavailableError } from "./bus.js";
import type { RedisCommands } from "./redis-link.js";
import type { RedisNames } from "./redis-names.js";

/** Re-seeding sends this many channels per SADD. */
const reseedBatch = 1000;

export interface RegistryDeps {
  readonly names: RedisNames;
  readonly commands: RedisCommands;
  /** Whether Redis can be asked now; lookups fail fast otherwise. */
  readonly canAsk: () => boolean;
  readonly onCountChanged: (count: number) => void;
}

/**
 * The cluster-wide channel registry: one Redis set per hub, cached on every node. Channels
 * are never deleted, so a cached "yes" stays true and publishing to a known channel costs no
 * round trip. A lookup already in flight for a channel is shared: callers that asked earlier
 * get their answer first, so a publisher's messages keep their order even while the cache
 * fills.
 */
export interface Registry {
  register(namespace: string, channel: string): Promise<void>;
  exists(namespace: string, channel: string): boolean | Promise<boolean>;
  /** Writes every cached channel back (after Redis came back empty). */
  reseed(): Promise<void>;
  readonly size: number;
}

export function createRegistry(deps: RegistryDeps): Registry {
  const { names, commands } = deps;
  const cache = new Map<string, Set<string>>();
  const lookups = new Map<string, Promise<boolean>>();
  let size = 0;

  const remember = (namespace: string, channel: string) => {
    let set = cache.get(namespace);
    if (set === undefined) cache.set(namespace, (set = new Set()));
    if (set.has(channel)) return;
    set.add(channel);
    size += 1;
    deps.onCountChanged(size);
  };

  return {
    get size() {
      return size;
    },
    async register(namespace, channel) {
      if (cache.get(namespace)?.has(channel)) return;
      try {
        await commands.sadd(names.registry(namespace), [channel]);
      } catch (err) {
        throw new BusUnavailableError("Redis did not record the channel", { cause: err });
      }
      remember(namespace, channel);
    },
    exists(namespace, channel) {
      if (cache.get(namespace)?.has(channel)) return true;
      if (!deps.canAsk()) return Promise.reject(new BusUnavailableError("Redis is not available"));
      const id = `${namespace}\n${channel}`;
      let lookup = lookups.get(id);
      if (lookup === undefined) {
        lookup = commands.sismember(names.registry(namespace), channel).then(
          (found) => {
            lookups.delete(id);
            if (found === 1) remember(namespace, channel);
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
    async reseed() {
      const writes: Promise<number>[] = [];
      for (const [namespace, set] of cache) {
        const all = [...set];
        for (let i = 0; i < all.length; i += reseedBatch) {
          writes.push(commands.sadd(names.registry(namespace), all.slice(i, i + reseedBatch)));
        }
      }
      await Promise.all(writes);
    },
  };
}
