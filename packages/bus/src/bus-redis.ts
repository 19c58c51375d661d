import {
  type Bus,
  type BusOptions,
  BusUnavailableError,
  type DeliverFn,
  dropDelivery,
  nowMs,
  secondHandlerError,
} from "./bus.js";
import { type RedisBusState, RedisBusStateMachine } from "./redis-bus-state.js";
import { type Canary, createCanary } from "./redis-canary.js";
import { createHeartbeat, type Heartbeat } from "./redis-heartbeat.js";
import type { LinkEvents, RedisCommands, RedisLink } from "./redis-link.js";
import { createClusterLink } from "./redis-link-cluster.js";
import { createSingleLink } from "./redis-link-single.js";
import { type RedisNames, redisNames } from "./redis-names.js";
import type { RestoreStep } from "./redis-restore.js";
import { createSubscriptions, type Subscriptions } from "./redis-subscriptions.js";
import type { RedisTarget } from "./redis-url.js";

/** What `createRedisBus` takes beyond every bus's options. */
export interface RedisBusOptions extends BusOptions {
  /** Where Redis is: one server or a Cluster's seed nodes (see `parseRedisUrl`). */
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
  /** Whether Redis can be asked now (the bus is ready); companions fail fast otherwise. */
  isReady(): boolean;
}

/** The Redis bus: a {@link Bus}, plus a place for the companions that share its connections. */
export interface RedisBus extends Bus {
  readonly kind: "redis" | "redis-cluster";
  readonly state: RedisBusState;
  /** Attaches a companion: it shares the command connection and takes part in every restore. */
  attach(companion: RedisCompanion): RedisAccess;
}

/** Bytes before the frame in every Redis message: the origin's `nowMs()` as a float64 (LE). */
const headerBytes = 8;

/**
 * The Redis bus. Every delivery, the origin's included, comes back through Redis, so every
 * node sees one order per channel. The frame is wrapped once at the origin (8-byte timestamp
 * + frame bytes) and receivers hand `payload.subarray(8)` to the delivery handler without
 * parsing.
 *
 * A publish is acknowledged only while the bus is `ready` (redis-bus-state.ts): connected,
 * every local subscription confirmed by Redis on the current subscriber connection, and,
 * after Redis came back from an outage, every peer seen before it resubscribed too (see
 * redis-heartbeat.ts). Delivery is at most once: Redis pub/sub keeps nothing for a
 * subscriber that is away. A rejected publish means "outcome unknown": a timed-out one may
 * still be delivered.
 */
export function createRedisBus(options: RedisBusOptions): RedisBus {
  return new RedisPubSubBus(options);
}

class RedisPubSubBus implements RedisBus {
  readonly kind: "redis" | "redis-cluster";
  private deliver: DeliverFn = dropDelivery;
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
      subscriberChanged: (up) => this.machine.subscriberChanged(up),
      error: (err, connection) => this.machine.error(err, connection),
    };
    const link =
      target.kind === "redis"
        ? createSingleLink(target, { timeoutMs, node, events })
        : createClusterLink(target, { timeoutMs, node, events });
    const subscriptions = createSubscriptions({
      names,
      link,
      timeoutMs,
      generation: () => this.machine.subscriberGeneration(),
      onCountChanged: (count) => observer?.subscribedTopics?.(count),
      onUnsubscribeFailed: (err) => logger?.debug({ err }, "unsubscribe failed"),
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
    });
    this.kind = link.kind;
    this.names = names;
    this.link = link;
    this.subscriptions = subscriptions;
    this.heartbeat = heartbeat;
    this.canary = canary;
    this.access = { commands: link.commands, names, isReady: () => this.machine.ready };
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

  subscribe(topic: string): Promise<void> {
    if (this.machine.closing) return Promise.reject(new BusUnavailableError("bus closed"));
    return this.subscriptions.acquire(topic);
  }

  async unsubscribe(topic: string): Promise<void> {
    this.subscriptions.release(topic);
  }

  publish(topic: string, frame: Uint8Array): Promise<void> {
    const { observer } = this.options;
    if (!this.machine.ready) {
      observer?.publishFailed?.();
      const { reason } = this.machine.state;
      return Promise.reject(new BusUnavailableError(this.machine.closing ? "bus closed" : `Redis not ready: ${reason}`));
    }
    const payload = Buffer.allocUnsafe(headerBytes + frame.byteLength);
    payload.writeDoubleLE(nowMs(), 0);
    payload.set(frame, headerBytes);
    const started = performance.now();
    return this.link.publish(this.names.channel(topic), payload).then(
      () => {
        observer?.publishAcked?.((performance.now() - started) / 1000);
      },
      (err: unknown) => {
        observer?.publishFailed?.();
        throw new BusUnavailableError("Redis did not accept the publish", { cause: err });
      },
    );
  }

  isReady(): boolean {
    return this.machine.ready;
  }

  close(): Promise<void> {
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
    if (payload.length < headerBytes) return;
    try {
      this.deliver(entry.topic, payload.subarray(headerBytes), payload.readDoubleLE(0));
    } catch (err) {
      this.options.logger?.error({ err, topic: entry.topic }, "delivery failed");
    }
  }
}
