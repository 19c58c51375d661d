import type { RedisLink } from "./redis-link.js";
import { channelKey } from "./redis-names.js";

/** How one shard's canary round ended. */
export type CanaryResult =
  | { readonly ok: true }
  /** Redis took the canary but it never came back: the shard's subscription died silently. */
  | { readonly ok: false; readonly lost: true; readonly channel: string }
  /** The canary could not be published: the command connection is in trouble, not the subscriber. */
  | { readonly ok: false; readonly lost: false; readonly error: unknown };

/**
 * The pub/sub liveness canary. A TCP connection can look healthy while Redis no longer
 * delivers to it (a proxy or a failover dropped the subscription, a half-open socket); no
 * error ever comes. So each node publishes to a canary channel of its own on every shard and
 * expects every message back on that shard's subscriber connection within a timeout.
 */
export interface Canary {
  /** Sets `shard`'s canary channel (at each of its restores: the slot table may have changed). */
  set(shard: string, channel: string): void;
  /** Forgets a shard that is gone. */
  drop(shard: string): void;
  /** `shard`'s canary channel, once set. */
  channelOf(shard: string): string | undefined;
  /** True while a round runs. */
  readonly busy: boolean;
  /** One round: publish on the canary channel of each of `shards` and wait for all to come back. */
  check(shards: readonly string[]): Promise<Map<string, CanaryResult>>;
  /** Offers a received message; true when it was a canary's. */
  receive(key: string, payload: Buffer): boolean;
}

export function createCanary(link: RedisLink, timeoutMs: number): Canary {
  const channels = new Map<string, string>();
  const keys = new Map<string, string>();
  /** Channel -> the token in flight and its waiter. */
  const waiting = new Map<string, { token: string; arrived: () => void }>();
  let sequence = 0;
  let busy = false;

  /** Publishes one token on `channel`: ok when it came back. */
  const roundTrip = async (channel: string): Promise<CanaryResult> => {
    const token = String(++sequence);
    let timer: NodeJS.Timeout | undefined;
    const back = new Promise<boolean>((resolve) => {
      waiting.set(channel, { token, arrived: () => resolve(true) });
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    try {
      let receivers: number;
      try {
        receivers = await link.publish(channel, Buffer.from(token));
      } catch (error) {
        return { ok: false, lost: false, error };
      }
      // Nobody subscribed: the subscription is gone, no need to wait.
      if (receivers > 0 && (await back)) return { ok: true };
      return { ok: false, lost: true, channel };
    } finally {
      clearTimeout(timer);
      if (waiting.get(channel)?.token === token) waiting.delete(channel);
    }
  };

  return {
    get busy() {
      return busy;
    },
    set(shard, channel) {
      const before = channels.get(shard);
      if (before !== undefined) keys.delete(channelKey(before));
      channels.set(shard, channel);
      keys.set(channelKey(channel), channel);
    },
    drop(shard) {
      const channel = channels.get(shard);
      if (channel !== undefined) keys.delete(channelKey(channel));
      channels.delete(shard);
    },
    channelOf: (shard) => channels.get(shard),
    async check(shards) {
      busy = true;
      try {
        const checked = shards.flatMap((shard) => {
          const channel = channels.get(shard);
          return channel === undefined ? [] : [[shard, channel] as const];
        });
        const results = await Promise.all(checked.map(([, channel]) => roundTrip(channel)));
        return new Map(checked.map(([shard], i) => [shard, results[i] as CanaryResult]));
      } finally {
        busy = false;
      }
    },
    receive(key, payload) {
      const channel = keys.get(key);
      if (channel === undefined) return false;
      const w = waiting.get(channel);
      if (w && payload.toString() === w.token) w.arrived();
      return true;
    },
  };
}
