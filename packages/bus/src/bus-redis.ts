import {
  type Bus,
  type BusOptions,
  BusUnavailableError,
  type DeliverFn,
  dropDelivery,
  type GapFn,
  type HistoryOptions,
  type HistoryPage,
  type HistoryQuery,
  ignoreGap,
  nowMs,
  type PositionFormat,
  type StreamPosition,
  secondGapHandlerError,
  secondHandlerError,
} from "./bus.js";
import { continues, newEpoch } from "./history-memory.js";
import { type RedisBusState, RedisBusStateMachine } from "./redis-bus-state.js";
import { type Canary, createCanary } from "./redis-canary.js";
import { type Envelope, readEnvelope, stamp, stampBytes, wrapPlain } from "./redis-envelope.js";
import { createTrack, GapFiller, trackPosition } from "./redis-gap-fill.js";
import { createHeartbeat, type Heartbeat } from "./redis-heartbeat.js";
import type { LinkEvents, RedisCommands, RedisLink } from "./redis-link.js";
import { createClusterLink } from "./redis-link-cluster.js";
import { createSingleLink } from "./redis-link-single.js";
import { type RedisNames, redisNames } from "./redis-names.js";
import type { RestoreStep } from "./redis-restore.js";
import type { HistoryKeys } from "./redis-scripts.js";
import { createSubscriptions, type Subscriptions } from "./redis-subscriptions.js";
import type { RedisTarget } from "./redis-url.js";

/** What `createRedisBus` takes beyond every bus's options. */
export interface RedisBusOptions extends BusOptions {
  /** Where Redis is: one server, a Cluster's seed nodes, or Sentinels (see `parseRedisUrl`). */
  readonly target: RedisTarget;
  /** Longest wait for Redis to confirm a publish or subscribe before "unavailable". */
  readonly publishTimeoutMs: number;
  /** This node's name, unique in the cluster (e.g. `host:pid`): canary channel, heartbeat key. */
  readonly node: string;
  /** Prefix of every Redis key and channel. Default "rocket:". */
  readonly prefix?: string | undefined;
  /** How often the pub/sub canary runs. Default 1000. */
  readonly canaryIntervalMs?: number | undefined;
  /** How long a canary may take to come back. Default 1000. */
  readonly canaryTimeoutMs?: number | undefined;
  /** How often a node writes its heartbeat and looks at its peers; keys live 3 times this. Default 1000. */
  readonly heartbeatIntervalMs?: number | undefined;
  /** After Redis returns, the longest wait for peers to resubscribe before acknowledging anyway. Default 2000. */
  readonly peerGraceMs?: number | undefined;
  /** A topic with history and no message for this long is read from the stream, for losses no event shows. Default 5000. */
  readonly quietCheckMs?: number | undefined;
}

/** Something kept in Redis beside the pub/sub, on the bus's connections (the channel registry). */
export interface RedisCompanion {
  /** Names its restore step in logs. */
  readonly name: string;
  /** Writes back what a restarted Redis lost; runs on every restore, before the bus turns ready. */
  restore(redis: RedisAccess): Promise<void>;
}

/** What a companion may use of the bus it is attached to. */
export interface RedisAccess {
  readonly commands: RedisCommands;
  readonly names: RedisNames;
  /** Whether Redis can be asked now (the bus is ready on every shard); companions fail fast otherwise. */
  isReady(): boolean;
}

/** The Redis bus: a {@link Bus}, plus a place for the companions that share its connections. */
export interface RedisBus extends Bus {
  readonly kind: "redis" | "redis-cluster" | "redis-sentinel";
  readonly state: RedisBusState;
  /** Attaches a companion: it shares the command connection and takes part in every restore. */
  attach(companion: RedisCompanion): RedisAccess;
}

/**
 * The Redis bus. Every delivery, the origin's included, comes back through Redis, so every
 * node sees one order per channel. The frame is wrapped once at the origin (8-byte timestamp
 * + frame bytes, redis-envelope.ts) and receivers hand the frame to the delivery handler
 * without parsing it.
 *
 * A topic with history is published by a script that stores and publishes in one step
 * (redis-scripts.ts), on channel and keys tagged with the topic so that a Cluster keeps
 * them on one shard; its messages carry their position in the envelope. Delivery on such a
 * topic is exactly once per node while the history keeps what the node missed: the node
 * reads back what a pub/sub hiccup cost it (redis-gap-fill.ts), and reports a gap it cannot
 * fill to the gap handler.
 *
 * A publish is acknowledged only while the shard that owns its channel is `ready`
 * (redis-bus-state.ts): connected, every local subscription of the shard confirmed by Redis
 * on its current subscriber connection, and, after its server came back from an outage or
 * was replaced, every peer seen before resubscribed there too (see redis-heartbeat.ts); and
 * only if the shard is still in that same state when Redis answers: an answer that comes
 * after the shard's subscriber connection was lost may concern a message this node's
 * subscribers never get, so it is "unavailable". Each shard (a Cluster master) stands on its
 * own: a master failing over leaves the others' channels served. A subscribe is accepted on
 * the same condition and answered once Redis confirmed the subscription after it was asked.
 * Delivery is at most once: Redis pub/sub keeps nothing for a subscriber that is away. A
 * rejected publish means "outcome unknown": a timed-out one may still be delivered.
 */
export function createRedisBus(options: RedisBusOptions): RedisBus {
  return new RedisPubSubBus(options);
}

class RedisPubSubBus implements RedisBus {
  readonly kind: "redis" | "redis-cluster" | "redis-sentinel";
  private deliver: DeliverFn = dropDelivery;
  private gap: GapFn = ignoreGap;
  /** The epoch a publish or read starts a history with when the topic has none; renewed once used. */
  private epochCandidate = newEpoch();
  private readonly filler: GapFiller;
  private readonly quietTimer: NodeJS.Timeout;
  private closed: Promise<void> | undefined;
  private readonly steps: RestoreStep[] = [];
  private readonly names: RedisNames;
  private readonly link: RedisLink;
  private readonly subscriptions: Subscriptions;
  private readonly heartbeat: Heartbeat;
  private readonly canary: Canary;
  private readonly machine: RedisBusStateMachine;
  private readonly access: RedisAccess;

  constructor(private readonly options: RedisBusOptions) {
    const { target, publishTimeoutMs: timeoutMs, node, observer, logger } = options;
    const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1000;
    const names = redisNames(options.prefix);
    // Connection events go to the state machine; messages to the receive path.
    const events: LinkEvents = {
      message: (channel, payload) => this.receive(channel, payload),
      commandsChanged: (up) => this.machine.commandsChanged(up),
      subscriberChanged: (shard, up) => this.machine.subscriberChanged(shard, up),
      topologyChanged: () => this.machine.topologyChanged(),
      error: (err, connection) => this.machine.error(err, connection),
    };
    const link =
      target.kind === "redis-cluster"
        ? createClusterLink(target, { timeoutMs, node, events })
        : createSingleLink(target, { timeoutMs, node, events });
    const subscriptions = createSubscriptions({
      names,
      link,
      timeoutMs,
      accepting: (shard) => this.machine.accepting(shard) !== undefined,
      onCountChanged: (count) => observer?.subscribedTopics?.(count),
    });
    const heartbeat = createHeartbeat({ names, commands: link.commands, node, ttlMs: heartbeatIntervalMs * 3 });
    const canary = createCanary(link, options.canaryTimeoutMs ?? 1000);
    this.machine = new RedisBusStateMachine({
      target,
      link,
      names,
      node,
      subscriptions,
      canary,
      heartbeat,
      steps: this.steps,
      peerGraceMs: options.peerGraceMs ?? 2000,
      heartbeatIntervalMs,
      canaryIntervalMs: options.canaryIntervalMs ?? 1000,
      observer,
      logger,
      resubscribed: (entries) => this.filler.resume(entries.flatMap((entry) => entry.track ?? [])),
    });
    this.kind = link.kind;
    this.names = names;
    this.link = link;
    this.subscriptions = subscriptions;
    this.heartbeat = heartbeat;
    this.canary = canary;
    this.access = { commands: link.commands, names, isReady: () => this.machine.ready };
    this.filler = new GapFiller({
      read: (keys, after, count) => link.scripts.read(keys, { mode: "after", after, count, start: undefined }),
      position: (keys) => link.scripts.position(keys),
      deliver: (topic, envelope) => this.hand(topic, envelope),
      lost: (topic) => {
        try {
          this.gap(topic);
        } catch (err) {
          logger?.error({ err, topic }, "gap handler failed");
        }
      },
      active: () => !this.machine.closing,
      observer,
      logger,
    });
    // First of the restore steps: the publish scripts (a restarted Redis has none), and what
    // the pub/sub hiccup cost, read back once resubscribed.
    this.steps.push(
      { name: "history scripts", run: () => link.scripts.reload() },
      { name: "history", run: async (shard) => this.filler.resume(this.subscriptions.tracks(shard)) },
    );
    const quietMs = options.quietCheckMs ?? 5000;
    this.quietTimer = setInterval(() => {
      if (this.machine.ready) this.filler.checkQuiet(this.subscriptions.tracks(), quietMs);
    }, quietMs);
    this.quietTimer.unref();
  }

  get state(): RedisBusState {
    return this.machine.state;
  }

  attach(companion: RedisCompanion): RedisAccess {
    this.steps.push({ name: companion.name, run: () => companion.restore(this.access) });
    return this.access;
  }

  onDeliver(handler: DeliverFn): void {
    if (this.deliver !== dropDelivery) throw secondHandlerError();
    this.deliver = handler;
  }

  onGap(handler: GapFn): void {
    if (this.gap !== ignoreGap) throw secondGapHandlerError();
    this.gap = handler;
  }

  subscribe(topic: string, history?: HistoryOptions): Promise<void> {
    const channel = history === undefined ? this.names.channel(topic) : this.names.historyChannel(topic);
    const shard = this.link.shardOf(channel);
    // Refused at once while the channel's shard is not ready, as a publish is.
    if (this.machine.accepting(shard) === undefined)
      return Promise.reject(new BusUnavailableError(this.machine.reasonFor(shard)));
    if (history === undefined || this.subscriptions.has(topic)) return this.subscriptions.acquire(topic);
    // The position before subscribing: whatever is published from here on arrives live or is read back.
    const keys = this.historyKeys(topic);
    return this.startTracking(topic, keys, history);
  }

  private async startTracking(topic: string, keys: HistoryKeys, history: HistoryOptions): Promise<void> {
    let start: StreamPosition | undefined;
    try {
      start = await this.link.scripts.position(keys);
    } catch (err) {
      throw new BusUnavailableError("Redis did not answer the history position", { cause: err });
    }
    await this.subscriptions.acquire(topic, () => createTrack(topic, keys, history, start));
  }

  async unsubscribe(topic: string): Promise<void> {
    this.subscriptions.release(topic);
  }

  publish(topic: string, frame: Uint8Array): Promise<void> {
    const { observer } = this.options;
    const channel = this.names.channel(topic);
    const shard = this.link.shardOf(channel);
    const state = this.machine.accepting(shard);
    if (state === undefined) {
      observer?.publishFailed?.();
      return Promise.reject(new BusUnavailableError(this.machine.reasonFor(shard)));
    }
    const payload = wrapPlain(frame, nowMs());
    const started = performance.now();
    return this.link.publish(channel, payload).then(
      () => {
        // Redis answered after the shard's subscriber side changed (its connection lost, its
        // server not answering): this node's subscribers may not have it. Outcome unknown.
        if (!this.machine.still(state) || this.link.shardOf(channel) !== shard) {
          observer?.publishFailed?.();
          throw new BusUnavailableError("the channel's Redis shard changed while the publish was under way");
        }
        observer?.publishAcked?.((performance.now() - started) / 1000);
      },
      (err: unknown) => {
        observer?.publishFailed?.();
        throw new BusUnavailableError("Redis did not accept the publish", { cause: err });
      },
    );
  }

  /**
   * As {@link publish}, except that an answer after the shard's subscriber side changed is
   * still acknowledged: the message is stored, and every node reads back what its
   * subscription missed before delivering anything newer.
   */
  publishWithHistory(topic: string, head: Uint8Array, history: HistoryOptions, format: PositionFormat): Promise<StreamPosition> {
    const { observer } = this.options;
    const shard = this.link.shardOf(this.names.historyChannel(topic));
    if (this.machine.accepting(shard) === undefined) {
      observer?.publishFailed?.();
      return Promise.reject(new BusUnavailableError(this.machine.reasonFor(shard)));
    }
    const started = performance.now();
    const epoch = this.epochCandidate;
    const request = {
      size: history.size,
      ttlMs: history.ttlMs,
      epoch,
      stamp: stamp(nowMs()),
      head,
      format,
    };
    return this.link.scripts.publish(this.historyKeys(topic), request).then(
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

  async history(topic: string, query: HistoryQuery, history: HistoryOptions): Promise<HistoryPage> {
    const shard = this.link.shardOf(this.names.historyChannel(topic));
    if (this.machine.accepting(shard) === undefined) throw new BusUnavailableError(this.machine.reasonFor(shard));
    const { since, limit } = query;
    const epoch = this.epochCandidate;
    let range: Awaited<ReturnType<typeof this.link.scripts.read>>;
    try {
      range = await this.link.scripts.read(this.historyKeys(topic), {
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

  deliveredPosition(topic: string): StreamPosition | undefined {
    const track = this.subscriptions.entry(topic)?.track;
    return track && trackPosition(track);
  }

  isReady(): boolean {
    return this.machine.ready;
  }

  close(): Promise<void> {
    clearInterval(this.quietTimer);
    this.closed ??= this.machine.close(async () => {
      if (this.link.commandsUp) await this.heartbeat.deregister().catch(() => {});
      this.subscriptions.clear();
      await this.link.close();
    });
    return this.closed;
  }

  /** The receive path: one map lookup, no parse, no copy. */
  private receive(channel: Buffer, payload: Buffer): void {
    const key = channel.toString("latin1");
    const entry = this.subscriptions.byKey.get(key);
    if (entry === undefined) {
      this.canary.receive(key, payload);
      return;
    }
    // Leaving: the node unsubscribed; what Redis still sends until it confirmed is nobody's.
    if (entry.refs === 0) return;
    if (entry.track) {
      const envelope = readEnvelope(payload);
      if (envelope) this.filler.offer(entry.track, envelope);
      return;
    }
    if (payload.length < stampBytes) return;
    try {
      this.deliver(entry.topic, payload.subarray(stampBytes), payload.readDoubleLE(0));
    } catch (err) {
      this.options.logger?.error({ err, topic: entry.topic }, "delivery failed");
    }
  }

  /** Hands a message of a topic with history to the delivery handler. */
  private hand(topic: string, envelope: Envelope): void {
    try {
      this.deliver(topic, envelope.frame, envelope.publishedAtMs, envelope.position);
    } catch (err) {
      this.options.logger?.error({ err, topic }, "delivery failed");
    }
  }

  private historyKeys(topic: string): HistoryKeys {
    const { names } = this;
    return { meta: names.meta(topic), stream: names.stream(topic), channel: names.historyChannel(topic) };
  }
}
