import { BusUnavailableError } from "./bus.js";
import { race } from "./redis-deadline.js";
import type { HistoryTrack } from "./redis-gap-fill.js";
import type { RedisLink } from "./redis-link.js";
import { channelKey, type RedisNames } from "./redis-names.js";

/** A topic with local subscribers, interned once: the receive path only looks it up. */
export interface TopicEntry {
  readonly topic: string;
  readonly channel: string;
  /** Local references; 0 while the entry is leaving. */
  refs: number;
  /** The subscriber connection generation on which Redis confirmed the subscription; -1 for none. */
  confirmedGen: number;
  pending: Promise<void> | undefined;
  /**
   * The last reference is gone and the UNSUBSCRIBE is on its way: the entry delivers nothing,
   * and a new reference waits until this settles (Redis answered, or the connection is
   * gone), then subscribes afresh. Without the wait, a message published after the last
   * unsubscribe could still arrive (Redis ran the PUBLISH, on the command connection, before
   * the UNSUBSCRIBE) and be delivered to the new reference.
   */
  leaving: Promise<void> | undefined;
  /** For a topic with history: what this node delivered of it (its channel is the tagged one). */
  readonly track: HistoryTrack | undefined;
}

export interface SubscriptionsDeps {
  readonly names: RedisNames;
  readonly link: RedisLink;
  readonly timeoutMs: number;
  /** Whether `shard` takes subscribes now (the bus is ready on it). */
  readonly accepting: (shard: string) => boolean;
  readonly onCountChanged: (count: number) => void;
}

/**
 * Reference-counted topic subscriptions. The first local reference subscribes upstream, the
 * last one unsubscribes. Each subscription is tagged with the subscriber connection
 * generation Redis confirmed it on (generations are unique across a Cluster's shards), so
 * that after a reconnect or a slot move the bus knows which ones are back.
 */
export interface Subscriptions {
  /** Received channel (latin1 of its bytes) -> entry (leaving ones included: they deliver nothing). */
  readonly byKey: ReadonlyMap<string, TopicEntry>;
  readonly size: number;
  /** Whether `topic` has a local reference now. */
  has(topic: string): boolean;
  /** The entry of `topic`, while it has local references. */
  entry(topic: string): TopicEntry | undefined;
  /**
   * Adds a reference once the subscription is in place: Redis confirmed it on the current
   * connection of the topic's shard, after this call (a subscription already there is
   * checked with a round trip on that connection). Rejects with {@link BusUnavailableError}
   * when that shard is not ready or Redis did not answer in time. `track` (a topic with
   * history, first reference only) makes the entry use its tagged channel and keep the track.
   */
  acquire(topic: string, track?: () => HistoryTrack): Promise<void>;
  /** The tracks of every topic with history (of one shard's topics, with `shard`). */
  tracks(shard?: string): IterableIterator<HistoryTrack>;
  release(topic: string): void;
  /** Subscribes every topic of `shard` (and `extra` channels) on generation `gen`; resolves when Redis confirmed all. */
  resubscribe(shard: string, gen: number, extra: readonly string[]): Promise<void>;
  /**
   * Subscribes on `shard`'s generation `gen` the topics it owns now that are not confirmed
   * there (a slot moved them in); resolves with their entries once Redis confirmed.
   */
  follow(shard: string, gen: number): Promise<TopicEntry[]>;
  clear(): void;
}

export function createSubscriptions(deps: SubscriptionsDeps): Subscriptions {
  const { names, link, timeoutMs } = deps;
  const byTopic = new Map<string, TopicEntry>();
  const byKey = new Map<string, TopicEntry>();
  const live = (entry: TopicEntry | undefined) => (entry !== undefined && entry.refs > 0 ? entry : undefined);

  /** `pending`, or unavailable once `deadline` (performance.now() ms) passed. */
  const before = <T>(pending: Promise<T>, deadline: number, what: string): Promise<T> =>
    race(
      pending,
      Math.max(0, deadline - performance.now()),
      () => new BusUnavailableError(`Redis did not ${what} in time`),
      (err) => new BusUnavailableError(`Redis did not ${what}`, { cause: err }),
    );

  const confirm = async (entry: TopicEntry, deadline: number): Promise<void> => {
    /** Redis answered on the connection after this call: the confirmation is fresh. */
    let fresh = false;
    for (;;) {
      const shard = link.shardOf(entry.channel);
      const gen = shard === undefined ? undefined : link.generation(shard);
      if (shard === undefined || gen === undefined || !deps.accepting(shard))
        throw new BusUnavailableError("Redis is not ready for this channel");
      if (entry.confirmedGen === gen) {
        if (fresh) return;
        await before(link.ping(shard, gen), deadline, "answer on the subscriber connection");
        fresh = true;
        continue;
      }
      if (performance.now() > deadline) throw new BusUnavailableError("Redis did not confirm the subscription in time");
      fresh = entry.pending === undefined;
      entry.pending ??= link.subscribe(shard, gen, [entry.channel]).then(
        () => {
          if (link.generation(shard) === gen) entry.confirmedGen = gen;
          entry.pending = undefined;
        },
        (err: unknown) => {
          entry.pending = undefined;
          throw err;
        },
      );
      await before(entry.pending, deadline, "confirm the subscription");
    }
  };

  const remove = (entry: TopicEntry): void => {
    if (byTopic.get(entry.topic) !== entry) return;
    byTopic.delete(entry.topic);
    byKey.delete(channelKey(entry.channel));
    deps.onCountChanged(byTopic.size);
  };

  const release = (topic: string): void => {
    const entry = live(byTopic.get(topic));
    if (entry === undefined) return;
    entry.refs -= 1;
    if (entry.refs > 0) return;
    if (entry.track) entry.track.released = true;
    const shard = link.shardOf(entry.channel);
    const gen = shard === undefined ? undefined : link.generation(shard);
    // Without a connection there is nothing to undo: a new one starts with no subscriptions.
    if (shard === undefined || gen === undefined) return remove(entry);
    entry.leaving = link.unsubscribe(shard, gen, entry.channel).then(() => remove(entry));
  };

  const create = (topic: string, makeTrack: (() => HistoryTrack) | undefined): TopicEntry => {
    const track = makeTrack?.();
    const channel = track ? track.keys.channel : names.channel(topic);
    const entry: TopicEntry = { topic, channel, refs: 0, confirmedGen: -1, pending: undefined, leaving: undefined, track };
    byTopic.set(topic, entry);
    byKey.set(channelKey(entry.channel), entry);
    deps.onCountChanged(byTopic.size);
    return entry;
  };

  const ofShard = (shard: string) => [...byTopic.values()].filter((e) => e.refs > 0 && link.shardOf(e.channel) === shard);

  return {
    byKey,
    get size() {
      return byTopic.size;
    },
    has: (topic) => live(byTopic.get(topic)) !== undefined,
    entry: (topic) => live(byTopic.get(topic)),
    *tracks(shard) {
      for (const entry of byTopic.values()) {
        if (entry.track && entry.refs > 0 && (shard === undefined || link.shardOf(entry.channel) === shard)) yield entry.track;
      }
    },
    async acquire(topic, makeTrack) {
      const deadline = performance.now() + timeoutMs;
      let entry = byTopic.get(topic);
      while (entry?.leaving !== undefined) {
        await before(entry.leaving, deadline, "confirm the last unsubscribe");
        entry = byTopic.get(topic);
      }
      entry ??= create(topic, makeTrack);
      entry.refs += 1;
      try {
        await confirm(entry, deadline);
      } catch (err) {
        release(topic);
        throw err;
      }
    },
    release,
    async resubscribe(shard, gen, extra) {
      const entries = ofShard(shard);
      await link.subscribe(shard, gen, [...extra, ...entries.map((e) => e.channel)]);
      if (link.generation(shard) !== gen) throw new BusUnavailableError("subscriber connection changed while resubscribing");
      for (const e of entries) if (e.refs > 0) e.confirmedGen = gen;
    },
    async follow(shard, gen) {
      const moved = ofShard(shard).filter((e) => e.confirmedGen !== gen && e.pending === undefined);
      if (moved.length === 0) return [];
      await link.subscribe(
        shard,
        gen,
        moved.map((e) => e.channel),
      );
      for (const e of moved) if (e.refs > 0 && link.generation(shard) === gen) e.confirmedGen = gen;
      return moved;
    },
    clear() {
      for (const entry of byTopic.values()) if (entry.track) entry.track.released = true;
      byTopic.clear();
      byKey.clear();
      deps.onCountChanged(0);
    },
  };
}
