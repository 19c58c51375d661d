import { BusUnavailableError, type ChannelRegistry } from "./bus.js";
import type { RedisAccess, RedisBus } from "./redis-bus-types.js";
import { ChannelCache, type ChannelEntry, expiryTimings } from "./registry-cache.js";
import type { RegistryOptions } from "./registry-memory.js";

/** Channels per ZADD/SADD when many are written at once (refresh, re-seeding). */
const writeBatch = 1000;
/** Channels one sweep script removes at most; sweeps repeat until fewer come back, at most {@link maxSweepRounds} times. */
const sweepBatch = 1000;
const maxSweepRounds = 100;

/**
 * Removes the channels whose last activity is older than ARGV[1] (ms) from the activity
 * sorted set (KEYS[2]) and the registry set (KEYS[1]), at most ARGV[2] of them, atomically:
 * a subscribe or publish that refreshed a channel before the script ran keeps it, one after
 * it writes it back.
 */
const sweepScript = `local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #expired > 0 then
  redis.call('ZREM', KEYS[2], unpack(expired))
  redis.call('SREM', KEYS[1], unpack(expired))
end
return #expired`;

/**
 * The cluster-wide channel registry: per hub, a Redis set of the channels that exist
 * (`rocket:channels:<hub>`, as before expiry existed) and a sorted set of their last activity
 * in the same slot, cached on every node, on the Redis bus's connections.
 *
 * - Subscribing writes the channel's activity, then adds it to the set (in that order, so a
 *   sweep can never leave it in the set without a fresh score); each node rewrites the
 *   activity of the channels its subscribers hold every refresh period, and a publish
 *   rewrites it at most once per period per node. Every node sweeps, with one atomic script
 *   per hub, the channels whose activity is older than the TTL.
 * - A cached "yes" is trusted for the TTL less two refresh periods after the activity it
 *   saw (for ever while a local subscriber holds the channel), then asked again; a lookup
 *   already in flight is shared, so a publisher's messages keep their order while the cache
 *   fills. After Redis came back empty the bus has every node write its cached channels back
 *   before it turns ready.
 */
export function createRedisRegistry(bus: RedisBus, options: RegistryOptions = {}): ChannelRegistry {
  const { observer } = options;
  const now = options.now ?? Date.now;
  const timing = expiryTimings(options.ttlMs ?? 0);
  const { ttlMs, refreshMs, trustMs } = timing;
  const known = new ChannelCache((count) => observer?.knownChannels?.(count));
  const lookups = new Map<string, Promise<boolean>>();

  /** Writes `channels` as active at `at`: the activity first, then the set (see above). */
  const write = async ({ commands, names }: RedisAccess, hub: string, channels: readonly string[], at: number) => {
    await commands.zaddAll(names.registryActivity(hub), at, channels);
    await commands.sadd(names.registry(hub), channels);
  };
  const inBatches = async (redis: RedisAccess, hub: string, channels: readonly string[], at: number) => {
    const writes: Promise<void>[] = [];
    for (let i = 0; i < channels.length; i += writeBatch) writes.push(write(redis, hub, channels.slice(i, i + writeBatch), at));
    await Promise.all(writes);
  };

  const reseed = async (access: RedisAccess): Promise<void> => {
    const writes: Promise<void>[] = [];
    for (const [hub, channels] of known.entries()) {
      // Each at the activity it had: a restart gives no channel extra life.
      const byTime = new Map<number, string[]>();
      for (const [channel, entry] of channels) {
        const at = entry.refs > 0 ? now() : entry.seenAtMs;
        byTime.set(at, [...(byTime.get(at) ?? []), channel]);
      }
      for (const [at, list] of byTime) writes.push(inBatches(access, hub, list, at));
    }
    await Promise.all(writes);
  };
  const redis = bus.attach({ name: "registry", restore: reseed });

  /** Rewrites one channel's activity now, once at a time; failures are left to the next refresh. */
  const refreshOne = (hub: string, channel: string, entry: ChannelEntry): void => {
    if (entry.writing || !redis.isReady()) return;
    entry.writing = true;
    const at = now();
    write(redis, hub, [channel], at).then(
      () => {
        entry.writing = false;
        entry.seenAtMs = Math.max(entry.seenAtMs, at);
      },
      () => {
        entry.writing = false;
      },
    );
  };

  /** One period's work: refresh what local subscribers hold, forget stale cache entries, sweep. */
  const tick = async (): Promise<void> => {
    if (!redis.isReady()) return;
    const at = now();
    const held: Promise<void>[] = [];
    for (const [hub, channels] of known.entries()) {
      const list: string[] = [];
      const entries: ChannelEntry[] = [];
      for (const [channel, entry] of channels) {
        if (entry.refs === 0) continue;
        list.push(channel);
        entries.push(entry);
      }
      if (list.length === 0) continue;
      held.push(
        inBatches(redis, hub, list, at).then(() => {
          for (const entry of entries) entry.seenAtMs = Math.max(entry.seenAtMs, at);
        }),
      );
    }
    await Promise.all(held);
    known.evict(at - trustMs);
    let expired = 0;
    for (const hub of known.hubNames()) {
      const keys = [redis.names.registry(hub), redis.names.registryActivity(hub)];
      for (let round = 0; round < maxSweepRounds; round++) {
        const removed = Number(await redis.commands.evalScript(sweepScript, keys, [at - ttlMs, sweepBatch]));
        expired += removed;
        if (removed < sweepBatch) break;
      }
    }
    if (expired > 0) observer?.channelsExpired?.(expired);
  };
  let ticking = false;
  const timer =
    ttlMs === 0
      ? undefined
      : setInterval(() => {
          if (ticking) return;
          ticking = true;
          tick()
            .catch(() => {})
            .finally(() => {
              ticking = false;
            });
        }, refreshMs);
  timer?.unref();

  const lookup = (hub: string, channel: string): Promise<boolean> => {
    const { commands, names } = redis;
    return Promise.all([
      commands.sismember(names.registry(hub), channel),
      commands.zscore(names.registryActivity(hub), channel),
    ]).then(([member, score]) => {
      if (member !== 1) {
        known.forget(hub, channel);
        return false;
      }
      // No activity recorded: registered before expiry existed; it lives until touched.
      const seenAtMs = score === null ? now() : Number(score);
      if (ttlMs > 0 && now() - seenAtMs >= ttlMs) return false;
      const entry = known.ensure(hub, channel, seenAtMs);
      entry.seenAtMs = Math.max(entry.seenAtMs, seenAtMs);
      return true;
    });
  };

  /** Asks Redis whether `channel` exists (one lookup in flight per channel, shared). */
  const ask = (hub: string, channel: string): Promise<boolean> => {
    if (!redis.isReady()) return Promise.reject(new BusUnavailableError("Redis is not available"));
    const id = `${hub}\n${channel}`;
    let pending = lookups.get(id);
    if (pending === undefined) {
      pending = lookup(hub, channel).then(
        (found) => {
          lookups.delete(id);
          return found;
        },
        (err: unknown) => {
          lookups.delete(id);
          throw new BusUnavailableError("Redis did not answer the channel lookup", { cause: err });
        },
      );
      lookups.set(id, pending);
    }
    return pending;
  };
  /** Whether the cached answer for `entry` is still trusted at `at`: held here, or seen recently enough. */
  const trusted = (entry: ChannelEntry | undefined, at: number): entry is ChannelEntry =>
    entry !== undefined && (entry.refs > 0 || at - entry.seenAtMs < trustMs);
  /** A publish on a channel known to exist: rewrites its activity once per refresh period. */
  const published = (hub: string, channel: string, entry: ChannelEntry | undefined, at: number): void => {
    if (ttlMs > 0 && entry !== undefined && at - entry.seenAtMs >= refreshMs) refreshOne(hub, channel, entry);
  };

  return {
    async register(hub, channel) {
      const entry = known.ensure(hub, channel, Number.NEGATIVE_INFINITY);
      entry.refs += 1;
      // Written recently (by this node): the periodic refresh keeps it alive from here.
      const fresh = ttlMs === 0 ? entry.seenAtMs > Number.NEGATIVE_INFINITY : now() - entry.seenAtMs < refreshMs;
      if (fresh) return;
      const at = now();
      try {
        await write(redis, hub, [channel], at);
      } catch (err) {
        entry.refs -= 1;
        if (entry.refs === 0 && entry.seenAtMs === Number.NEGATIVE_INFINITY) known.forget(hub, channel);
        throw new BusUnavailableError("Redis did not record the channel", { cause: err });
      }
      entry.seenAtMs = Math.max(entry.seenAtMs, at);
    },
    release(hub, channel) {
      const entry = known.get(hub, channel);
      if (entry !== undefined && entry.refs > 0) entry.refs -= 1;
    },
    exists(hub, channel) {
      return trusted(known.get(hub, channel), now()) ? true : ask(hub, channel);
    },
    publishing(hub, channel) {
      const entry = known.get(hub, channel);
      const at = now();
      if (trusted(entry, at)) {
        published(hub, channel, entry, at);
        return true;
      }
      return ask(hub, channel).then((yes) => {
        if (yes) published(hub, channel, known.get(hub, channel), now());
        return yes;
      });
    },
    close() {
      if (timer) clearInterval(timer);
    },
  };
}
