import {
  type BusObserver,
  BusUnavailableError,
  type HistoryOptions,
  type HistoryPage,
  type HistoryQuery,
  nowMs,
  type PositionFormat,
  type StreamPosition,
} from "./bus.js";
import { continues, newEpoch } from "./history-memory.js";
import type { RedisBusStateMachine } from "./redis-bus-state.js";
import { readEnvelope, stamp } from "./redis-envelope.js";
import type { RedisLink } from "./redis-link.js";
import type { RedisNames } from "./redis-names.js";
import type { HistoryKeys } from "./redis-scripts.js";

export interface RedisHistoryDeps {
  readonly link: RedisLink;
  readonly names: RedisNames;
  readonly machine: RedisBusStateMachine;
  readonly observer?: BusObserver | undefined;
}

/**
 * The history side of the Redis bus: publishing into a topic's stream and reading it back,
 * through the scripts (redis-scripts.ts), on keys and a channel tagged with the topic so that
 * a Cluster keeps them on one shard.
 */
export class RedisHistory {
  /** The epoch a publish or read starts a history with when the topic has none; renewed once used. */
  private epochCandidate = newEpoch();

  constructor(private readonly deps: RedisHistoryDeps) {}

  keys(topic: string): HistoryKeys {
    const { names } = this.deps;
    return { meta: names.meta(topic), stream: names.stream(topic), channel: names.historyChannel(topic) };
  }

  /** The topic's last position, before subscribing: whatever is published from here on arrives live or is read back. */
  async position(keys: HistoryKeys): Promise<StreamPosition | undefined> {
    try {
      return await this.deps.link.scripts.position(keys);
    } catch (err) {
      throw new BusUnavailableError("Redis did not answer the history position", { cause: err });
    }
  }

  /**
   * Stores and publishes in one step. Unlike a plain publish, an answer after the shard's
   * subscriber side changed is still acknowledged: the message is stored, and every node reads
   * back what its subscription missed before delivering anything newer.
   */
  publish(topic: string, head: Uint8Array, history: HistoryOptions, format: PositionFormat): Promise<StreamPosition> {
    const { link, names, machine, observer } = this.deps;
    const shard = link.shardOf(names.historyChannel(topic));
    if (machine.accepting(shard) === undefined) {
      observer?.publishFailed?.();
      return Promise.reject(new BusUnavailableError(machine.reasonFor(shard)));
    }
    const started = performance.now();
    const epoch = this.epochCandidate;
    const request = { size: history.size, ttlMs: history.ttlMs, epoch, stamp: stamp(nowMs()), head, format };
    return link.scripts.publish(this.keys(topic), request).then(
      (position) => {
        if (position.epoch === epoch) this.epochCandidate = newEpoch();
        observer?.publishAcked?.((performance.now() - started) / 1000);
        return position;
      },
      (err: unknown) => {
        observer?.publishFailed?.();
        throw new BusUnavailableError("Redis did not accept the publish", { cause: err });
      },
    );
  }

  /** Reads the topic's stored messages: the last ones, or those after `query.since`. */
  async read(topic: string, query: HistoryQuery, history: HistoryOptions): Promise<HistoryPage> {
    const { link, names, machine } = this.deps;
    const shard = link.shardOf(names.historyChannel(topic));
    if (machine.accepting(shard) === undefined) throw new BusUnavailableError(machine.reasonFor(shard));
    const { since, limit } = query;
    const epoch = this.epochCandidate;
    let range: Awaited<ReturnType<RedisLink["scripts"]["read"]>>;
    try {
      range = await link.scripts.read(this.keys(topic), {
        mode: since === undefined ? "last" : "after",
        after: since?.offset ?? 0,
        count: limit,
        start: { epoch, ttlMs: history.ttlMs },
      });
    } catch (err) {
      throw new BusUnavailableError("Redis did not answer the history read", { cause: err });
    }
    if (range.epoch === epoch) this.epochCandidate = newEpoch();
    const position = { offset: range.offset, epoch: range.epoch ?? epoch };
    const complete = since === undefined || continues(since, position, range.first);
    if (!complete) return { position, entries: [], complete };
    const entries = range.entries.flatMap((stored) => {
      const envelope = readEnvelope(stored.payload);
      return envelope ? [{ offset: stored.offset, frame: envelope.frame }] : [];
    });
    return { position, entries, complete };
  }
}
