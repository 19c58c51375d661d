import { BusUnavailableError } from "./bus.js";
import type { HistoryTrack } from "./redis-gap-fill.js";
import type { RedisLink } from "./redis-link.js";
import { channelKey, type RedisNames } from "./redis-names.js";

/** A topic with local subscribers, interned once: the receive path only looks it up. */
export interface TopicEntry {
  readonly topic: string;
  readonly channel: string;
  refs: number;
  /** The subscriber generation on which Redis confirmed the subscription; -1 for none. */
  confirmedGen: number;
  pending: Promise<void> | undefined;
  /** For a topic with history: what this node delivered of it (its channel is the tagged one). */
  readonly track: HistoryTrack | undefined;
}

export interface SubscriptionsDeps {
  readonly names: RedisNames;
  readonly link: RedisLink;
  readonly timeoutMs: number;
  /** The current subscriber connection's generation, or undefined while there is none. */
  readonly generation: () => number | undefined;
  readonly onCountChanged: (count: number) => void;
  readonly onUnsubscribeFailed: (err: unknown) => void;
}

/**
 * Reference-counted topic subscriptions. The first local reference subscribes upstream, the
 * last one unsubscribes. Each subscription is tagged with the subscriber connection
 * generation Redis confirmed it on, so that after a reconnect the bus knows which ones are
 * back.
 */
export interface Subscriptions {
  /** Received channel (latin1 of its bytes) -> entry. */
  readonly byKey: ReadonlyMap<string, TopicEntry>;
  readonly size: number;
  /** Whether `topic` has a local reference now. */
  has(topic: string): boolean;
  /** The entry of `topic`, while it has local references. */
  entry(topic: string): TopicEntry | undefined;
  /**
   * Adds a reference; the first subscribes upstream. `track` (a topic with history, first
   * reference only) makes the entry use its tagged channel and keep the track.
   */
  acquire(topic: string, track?: () => HistoryTrack): Promise<void>;
  /** The tracks of every topic with history. */
  tracks(): IterableIterator<HistoryTrack>;
  release(topic: string): void;
  /** Subscribes every topic (and `extra` channels) on generation `gen`; resolves when Redis confirmed all. */
  resubscribeAll(gen: number, extra: readonly string[]): Promise<void>;
  /** Whether every topic is confirmed on `gen`. */
  allConfirmed(gen: number): boolean;
  clear(): void;
}

export function createSubscriptions(deps: SubscriptionsDeps): Subscriptions {
  const { names, link, timeoutMs, generation } = deps;
  const byTopic = new Map<string, TopicEntry>();
  const byKey = new Map<string, TopicEntry>();

  const confirm = async (entry: TopicEntry): Promise<void> => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const gen = generation();
      if (gen === undefined) throw new BusUnavailableError("Redis subscriber connection is down");
      if (entry.confirmedGen === gen) return;
      if (performance.now() > deadline) throw new BusUnavailableError("Redis did not confirm the subscription in time");
      entry.pending ??= link.subscribe([entry.channel]).then(
        () => {
          if (generation() === gen) entry.confirmedGen = gen;
          entry.pending = undefined;
        },
        (err: unknown) => {
          entry.pending = undefined;
          throw err;
        },
      );
      try {
        await entry.pending;
      } catch (err) {
        throw new BusUnavailableError("Redis did not confirm the subscription", { cause: err });
      }
    }
  };

  const release = (topic: string): void => {
    const entry = byTopic.get(topic);
    if (entry === undefined) return;
    entry.refs -= 1;
    if (entry.refs > 0) return;
    byTopic.delete(topic);
    byKey.delete(channelKey(entry.channel));
    if (entry.track) entry.track.released = true;
    deps.onCountChanged(byTopic.size);
    // Without a connection there is nothing to undo: a new one starts with no subscriptions.
    if (generation() !== undefined) link.unsubscribe(entry.channel).catch(deps.onUnsubscribeFailed);
  };

  return {
    byKey,
    get size() {
      return byTopic.size;
    },
    has: (topic) => byTopic.has(topic),
    entry: (topic) => byTopic.get(topic),
    *tracks() {
      for (const entry of byTopic.values()) if (entry.track) yield entry.track;
    },
    async acquire(topic, makeTrack) {
      let entry = byTopic.get(topic);
      if (entry === undefined) {
        const track = makeTrack?.();
        const channel = track ? track.keys.channel : names.channel(topic);
        entry = { topic, channel, refs: 0, confirmedGen: -1, pending: undefined, track };
        byTopic.set(topic, entry);
        byKey.set(channelKey(entry.channel), entry);
        deps.onCountChanged(byTopic.size);
      }
      entry.refs += 1;
      if (entry.confirmedGen === generation()) return;
      try {
        await confirm(entry);
      } catch (err) {
        release(topic);
        throw err;
      }
    },
    release,
    async resubscribeAll(gen, extra) {
      const entries = [...byTopic.values()];
      await link.subscribe([...extra, ...entries.map((e) => e.channel)]);
      if (generation() !== gen) throw new BusUnavailableError("subscriber connection changed while resubscribing");
      for (const e of entries) if (e.refs > 0) e.confirmedGen = gen;
    },
    allConfirmed(gen) {
      for (const e of byTopic.values()) if (e.confirmedGen !== gen) return false;
      return true;
    },
    clear() {
      for (const entry of byTopic.values()) if (entry.track) entry.track.released = true;
      byTopic.clear();
      byKey.clear();
      deps.onCountChanged(0);
    },
  };
}
