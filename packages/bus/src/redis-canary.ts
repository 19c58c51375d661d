import type { RedisLink } from "./redis-link.js";
import { channelKey } from "./redis-names.js";

/** How a canary round ended. */
export type CanaryResult =
  | { readonly ok: true }
  /** Redis took the canary but it never came back: a subscription died silently. */
  | { readonly ok: false; readonly lost: true; readonly channels: string[] }
  /** The canary could not be published: the command connection is in trouble, not the subscriber. */
  | { readonly ok: false; readonly lost: false; readonly error: unknown };

/**
 * The pub/sub liveness canary. A TCP connection can look healthy while Redis no longer
 * delivers to it (a proxy or a failover dropped the subscription, a half-open socket); no
 * error ever comes. So each node publishes to canary channels of its own (one per shard)
 * and expects every message back on its subscriber connection within a timeout.
 */
export interface Canary {
  /** Sets the channels to check (after each resubscription: the shards may have changed). */
  setChannels(channels: readonly string[]): void;
  readonly channels: readonly string[];
  /** True while a round runs. */
  readonly busy: boolean;
  /** One round: publish on every canary channel and wait for all to come back. */
  check(): Promise<CanaryResult>;
  /** Offers a received message; true when it was a canary's. */
  receive(key: string, payload: Buffer): boolean;
}

export function createCanary(link: RedisLink, timeoutMs: number): Canary {
  let channels: readonly string[] = [];
  const keys = new Map<string, string>();
  /** Channel -> the token in flight and its waiter. */
  const waiting = new Map<string, { token: string; arrived: () => void }>();
  let sequence = 0;
  let busy = false;

  /** Publishes one token on `channel`; resolves with the channel when it did not come back. */
  const roundTrip = async (channel: string): Promise<string | undefined> => {
    const token = String(++sequence);
    let timer: NodeJS.Timeout | undefined;
    const back = new Promise<boolean>((resolve) => {
      waiting.set(channel, { token, arrived: () => resolve(true) });
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    try {
      const receivers = await link.publish(channel, Buffer.from(token));
      // Nobody subscribed: the subscription is gone, no need to wait.
      if (receivers === 0) return channel;
      return (await back) ? undefined : channel;
    } finally {
      clearTimeout(timer);
      if (waiting.get(channel)?.token === token) waiting.delete(channel);
    }
  };

  const round = async (): Promise<CanaryResult> => {
    const results = await Promise.allSettled(channels.map(roundTrip));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) return { ok: false, lost: false, error: failed.reason };
    const lost = results.flatMap((r) => (r.status === "fulfilled" && r.value !== undefined ? [r.value] : []));
    return lost.length === 0 ? { ok: true } : { ok: false, lost: true, channels: lost };
  };

  return {
    get channels() {
      return channels;
    },
    get busy() {
      return busy;
    },
    setChannels(next) {
      channels = [...next];
      keys.clear();
      for (const c of channels) keys.set(channelKey(c), c);
    },
    async check() {
      busy = true;
      try {
        return await round();
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
