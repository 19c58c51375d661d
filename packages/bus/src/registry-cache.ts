/** What a node knows of one channel. */
export interface ChannelEntry {
  /**
   * Wall-clock ms of the channel's last known activity in the registry (a subscribe, a
   * publish, a refresh written by some node): it cannot expire before this plus the TTL.
   */
  seenAtMs: number;
  /** Local subscribers holding it (each one refreshes it until released). */
  refs: number;
  /** A refresh of it is being written (one at a time). */
  writing: boolean;
}

/**
 * The channels a node knows to exist, per hub, with when each was last known active and how
 * many local subscribers hold it. The in-process registry is this cache alone; the Redis one
 * fills it from Redis. Entries that nobody holds are dropped once they may have expired.
 */
export class ChannelCache {
  private readonly hubs = new Map<string, Map<string, ChannelEntry>>();
  private count = 0;

  constructor(private readonly onCountChanged: ((count: number) => void) | undefined) {}

  get size(): number {
    return this.count;
  }

  get(hub: string, channel: string): ChannelEntry | undefined {
    return this.hubs.get(hub)?.get(channel);
  }

  /** The entry of `channel`, made (seen at `seenAtMs`, held by nobody) if missing. */
  ensure(hub: string, channel: string, seenAtMs: number): ChannelEntry {
    let channels = this.hubs.get(hub);
    if (channels === undefined) {
      channels = new Map();
      this.hubs.set(hub, channels);
    }
    let entry = channels.get(channel);
    if (entry === undefined) {
      entry = { seenAtMs, refs: 0, writing: false };
      channels.set(channel, entry);
      this.count += 1;
      this.onCountChanged?.(this.count);
    }
    return entry;
  }

  /** Drops `channel` if nobody holds it. */
  forget(hub: string, channel: string): void {
    const channels = this.hubs.get(hub);
    const entry = channels?.get(channel);
    if (channels === undefined || entry === undefined || entry.refs > 0) return;
    channels.delete(channel);
    this.count -= 1;
    this.onCountChanged?.(this.count);
  }

  /** Drops every entry nobody holds that was last seen before `beforeMs`; returns how many. */
  evict(beforeMs: number): number {
    let dropped = 0;
    for (const channels of this.hubs.values()) {
      for (const [channel, entry] of channels) {
        if (entry.refs > 0 || entry.seenAtMs >= beforeMs) continue;
        channels.delete(channel);
        dropped += 1;
      }
    }
    if (dropped > 0) {
      this.count -= dropped;
      this.onCountChanged?.(this.count);
    }
    return dropped;
  }

  /** Hub paths ever cached (a few, from the configuration). */
  hubNames(): IterableIterator<string> {
    return this.hubs.keys();
  }

  /** Every hub with its channels. */
  entries(): IterableIterator<[string, ReadonlyMap<string, ChannelEntry>]> {
    return this.hubs.entries();
  }
}

/**
 * The timings of channel expiry for a TTL: how often a node refreshes the channels its
 * subscribers hold (and sweeps), and how long a cached "exists" is trusted without asking.
 * A held channel is refreshed every `refreshMs`, a quarter of the TTL (at most a minute), so
 * its score never falls a TTL behind; a cached answer is trusted for the TTL less two
 * refresh periods, so it never outlives the channel by the time a sweep could take.
 */
export interface ExpiryTimings {
  /** 0: channels never expire. */
  readonly ttlMs: number;
  readonly refreshMs: number;
  readonly trustMs: number;
}

export function expiryTimings(ttlMs: number): ExpiryTimings {
  if (ttlMs <= 0) return { ttlMs: 0, refreshMs: 0, trustMs: Number.POSITIVE_INFINITY };
  const refreshMs = Math.min(60_000, Math.max(50, Math.floor(ttlMs / 4)));
  return { ttlMs, refreshMs, trustMs: ttlMs - 2 * refreshMs };
}
