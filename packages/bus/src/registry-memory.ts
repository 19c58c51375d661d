import type { ChannelRegistry, RegistryObserver } from "./bus.js";
import { ChannelCache, type ChannelEntry, expiryTimings } from "./registry-cache.js";

/** What a registry takes. */
export interface RegistryOptions {
  readonly observer?: RegistryObserver | undefined;
  /**
   * A channel nobody subscribes to and nobody publishes on for this long is forgotten
   * (`invalid_channel` until subscribed again). 0 (the default): never.
   */
  readonly ttlMs?: number | undefined;
  /** Wall clock, ms (injected for tests). Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/**
 * The embedded registry: one node, so the node's own record is the whole truth. A channel
 * lives while a subscriber holds it and for the TTL after its last subscriber or publish.
 */
export function createMemoryRegistry(options: RegistryOptions = {}): ChannelRegistry {
  const { observer } = options;
  const now = options.now ?? Date.now;
  const { ttlMs, refreshMs } = expiryTimings(options.ttlMs ?? 0);
  const known = new ChannelCache((count) => observer?.knownChannels?.(count));
  /** Gone by `at`: nobody holds it and its TTL has passed since it was last active. */
  const expired = (entry: ChannelEntry, at: number): boolean => ttlMs > 0 && entry.refs === 0 && at - entry.seenAtMs >= ttlMs;
  const timer =
    ttlMs === 0
      ? undefined
      : setInterval(() => {
          const expired = known.evict(now() - ttlMs);
          if (expired > 0) observer?.channelsExpired?.(expired);
        }, refreshMs);
  timer?.unref();

  return {
    async register(hub, channel) {
      const entry = known.ensure(hub, channel, now());
      entry.refs += 1;
      entry.seenAtMs = now();
    },
    release(hub, channel) {
      const entry = known.get(hub, channel);
      if (entry === undefined || entry.refs === 0) return;
      entry.refs -= 1;
      // The last subscriber leaving is activity too: the TTL counts from here.
      entry.seenAtMs = now();
    },
    exists(hub, channel) {
      const entry = known.get(hub, channel);
      return entry !== undefined && (ttlMs === 0 || !expired(entry, now()));
    },
    publishing(hub, channel) {
      const entry = known.get(hub, channel);
      if (entry === undefined) return false;
      if (ttlMs === 0) return true;
      const at = now();
      if (expired(entry, at)) return false;
      entry.seenAtMs = at;
      return true;
    },
    close() {
      if (timer) clearInterval(timer);
    },
  };
}
