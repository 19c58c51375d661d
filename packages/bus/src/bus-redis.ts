import {
  BusUnavailableError,
  type DeliverFn,
  type GapFn,
  type HistoryOptions,
  type HistoryPage,
  type HistoryQuery,
  type PositionFormat,
  type StreamPosition,
} from "./bus.js";
import { type RedisBusState, RedisBusStateMachine } from "./redis-bus-state.js";
import type { RedisAccess, RedisBus, RedisBusOptions, RedisCompanion } from "./redis-bus-types.js";
import { createCanary } from "./redis-canary.js";
import { createTrack, trackPosition } from "./redis-gap-fill.js";
import { createHeartbeat, type Heartbeat } from "./redis-heartbeat.js";
import { RedisHistory } from "./redis-history.js";
import type { LinkEvents, RedisLink } from "./redis-link.js";
import { createClusterLink } from "./redis-link-cluster.js";
import { createSingleLink } from "./redis-link-single.js";
import { type RedisNames, redisNames } from "./redis-names.js";
import { RedisReceiver } from "./redis-receiver.js";
import type { RestoreStep } from "./redis-restore.js";
import { createSubscriptions, type Subscriptions } from "./redis-subscriptions.js";

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
  private readonly receiver: RedisReceiver;
  private readonly histories: RedisHistory;
  private readonly quietTimer: NodeJS.Timeout;
  private closed: Promise<void> | undefined;
  private readonly steps: RestoreStep[] = [];
  private readonly names: RedisNames;
  private readonly link: RedisLink;
  private readonly subscriptions: Subscriptions;
  private readonly heartbeat: Heartbeat;
  private readonly machine: RedisBusStateMachine;
  private readonly access: RedisAccess;

  constructor(private readonly options: RedisBusOptions) {
    const { target, publishTimeoutMs: timeoutMs, node, observer, logger } = options;
    const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1000;
    const names = redisNames(options.prefix);
    // Connection events go to the state machine; messages to the receive path.
    const events: LinkEvents = {
      message: (channel, payload) => this.receiver.receive(channel, payload),
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
      resubscribed: (entries) => this.receiver.filler.resume(entries.flatMap((entry) => entry.track ?? [])),
    });
    this.kind = link.kind;
    this.names = names;
    this.link = link;
    this.subscriptions = subscriptions;
    this.heartbeat = heartbeat;
    this.access = { commands: link.commands, names, isReady: () => this.machine.ready };
    this.receiver = new RedisReceiver({ link, subscriptions, canary, active: () => !this.machine.closing, observer, logger });
    this.histories = new RedisHistory({ link, names, machine: this.machine, observer });
    // First of the restore steps: the publish scripts (a restarted Redis has none), and what
    // the pub/sub hiccup cost, read back once resubscribed.
    this.steps.push(
      { name: "history scripts", run: () => link.scripts.reload() },
      { name: "history", run: async (shard) => this.receiver.filler.resume(this.subscriptions.tracks(shard)) },
    );
    const quietMs = options.quietCheckMs ?? 5000;
    this.quietTimer = setInterval(() => {
      if (this.machine.ready) this.receiver.filler.checkQuiet(this.subscriptions.tracks(), quietMs);
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
    this.receiver.onDeliver(handler);
  }

  onGap(handler: GapFn): void {
    this.receiver.onGap(handler);
  }

  subscribe(topic: string, history?: HistoryOptions): Promise<void> {
    const channel = history === undefined ? this.names.channel(topic) : this.names.historyChannel(topic);
    const shard = this.link.shardOf(channel);
    // Refused at once while the channel's shard is not ready, as a publish is.
    if (this.machine.accepting(shard) === undefined)
      return Promise.reject(new BusUnavailableError(this.machine.reasonFor(shard)));
    if (history === undefined || this.subscriptions.has(topic)) return this.subscriptions.acquire(topic);
    return this.startTracking(topic, history);
  }

  private async startTracking(topic: string, history: HistoryOptions): Promise<void> {
    const keys = this.histories.keys(topic);
    const start = await this.histories.position(keys);
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
    const started = performance.now();
    return this.link.publishPlain(channel, frame, started).then(
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

  /** See {@link RedisHistory.publish}. */
  publishWithHistory(topic: string, head: Uint8Array, history: HistoryOptions, format: PositionFormat): Promise<StreamPosition> {
    return this.histories.publish(topic, head, history, format);
  }

  history(topic: string, query: HistoryQuery, history: HistoryOptions): Promise<HistoryPage> {
    return this.histories.read(topic, query, history);
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
}
