/**
 * The channels a node knows to exist, per hub. Channels are never deleted, so an entry
 * never goes stale; the in-process registry is this cache alone, the Redis one fills it
 * from Redis.
 */
export class ChannelCache {
  private readonly hubs = new Map<string, Set<string>>();
  private count = 0;

  constructor(private readonly onCountChanged: ((count: number) => void) | undefined) {}

  get size(): number {
    return this.count;
  }

  has(hub: string, channel: string): boolean {
    return this.hubs.get(hub)?.has(channel) ?? false;
  }

  add(hub: string, channel: string): void {
    let channels = this.hubs.get(hub);
    if (channels === undefined) {
      channels = new Set();
      this.hubs.set(hub, channels);
    }
    if (channels.has(channel)) return;
    channels.add(channel);
    this.count += 1;
    this.onCountChanged?.(this.count);
  }

  /** Every hub with its channels. */
  entries(): IterableIterator<[string, ReadonlySet<string>]> {
    return this.hubs.entries();
  }
}
