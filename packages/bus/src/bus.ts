/**
 * The message bus between gateway nodes. It carries opaque frame bytes per topic and knows
 * nothing of sockets or the wire protocol. Two implementations: in-process (one node) and
 * Redis (single Redis or Redis Cluster with sharded pub/sub).
 */
export interface Bus {
  /** What carries the messages, for logs and `/readyz`. */
  readonly kind: "memory" | "redis" | "redis-cluster";
  /**
   * Registers the one handler of everything the bus delivers to this node, in bus order per
   * topic. Call it once, before the first subscribe; a second call throws. Messages that
   * arrive while no handler is registered are dropped.
   */
  onDeliver(handler: DeliverFn): void;
  /**
   * Adds one local reference to `topic`; the first one subscribes upstream. Resolves once
   * every message published after it will be delivered here. Rejects with
   * {@link BusUnavailableError} when the bus did not confirm in time (the reference is
   * then not taken).
   */
  subscribe(topic: string): Promise<void>;
  /** Drops one local reference; the last one unsubscribes upstream. Never rejects. */
  unsubscribe(topic: string): Promise<void>;
  /**
   * Publishes prebuilt frame bytes to every node subscribed to `topic`, this one
   * included (every delivery takes the same path, so all nodes see one order per topic).
   * Resolves once the bus accepted the message; rejects with {@link BusUnavailableError}
   * within the publish timeout otherwise. A rejection means "outcome unknown". Returns
   * `undefined` when the message was accepted (and delivered) synchronously, as the
   * in-process bus does: the caller can then answer within the same write batch.
   */
  publish(topic: string, frame: Uint8Array): Promise<void> | undefined;
  /** True while publishes can be acknowledged truthfully. */
  isReady(): boolean;
  /** Unsubscribes and disconnects; idempotent, later calls return the same promise. */
  close(): Promise<void>;
}

/**
 * Receives every message the bus delivers to this node, in bus order per topic.
 * `frame` is the publisher's bytes untouched; `publishedAtMs` the origin's wall clock
 * (`performance.timeOrigin + performance.now()`) when it published.
 */
export type DeliverFn = (topic: string, frame: Uint8Array, publishedAtMs: number) => void;

/**
 * The cluster-wide record of the channels that exist, per hub. A channel exists from its
 * first subscribe; with a TTL it is forgotten once it has had no subscriber (on any node)
 * and no publish for that long, so that clients cannot grow the registry without bound.
 * Where the bus speaks topics, the registry speaks hubs and channel names.
 */
export interface ChannelRegistry {
  /**
   * Records, cluster-wide, that `channel` exists in `hub`, and holds it alive while this
   * node's subscriber has it: call {@link release} once for each register that resolved.
   * Rejects with {@link BusUnavailableError} (nothing held then).
   */
  register(hub: string, channel: string): Promise<void>;
  /** Undoes one {@link register}: one local subscriber fewer. */
  release(hub: string, channel: string): void;
  /**
   * Whether `channel` exists in `hub`, on any node. Answers synchronously from the node's
   * cache when it can; a promise when it must ask upstream (rejecting with
   * {@link BusUnavailableError}). Publishing asks this every time.
   */
  exists(hub: string, channel: string): boolean | Promise<boolean>;
  /**
   * A publish on `channel`, which {@link exists} just confirmed: it lives another TTL. Cheap
   * (written upstream at most once per refresh period per node), never fails.
   */
  touch(hub: string, channel: string): void;
  /** Stops the registry's timers (refresh and sweep). */
  close(): void;
}

/** Hooks the gateway turns into metrics; every one is optional. */
export interface BusObserver {
  /** A publish was acknowledged after `seconds`. */
  publishAcked?(seconds: number): void;
  /** A publish failed (timeout or bus down). */
  publishFailed?(): void;
  /** The upstream connection (Redis) went up or down. */
  connectionChanged?(up: boolean): void;
  /** The bus reconnected to Redis after losing it. */
  reconnected?(): void;
  /** Number of upstream (Redis) channels this node is subscribed to now. */
  subscribedTopics?(count: number): void;
  /** The pub/sub liveness canary did not come back in time. */
  canaryFailed?(): void;
  /** Readiness changed, with a reason for logs. */
  readyChanged?(ready: boolean, reason: string): void;
}

/** Hooks of a channel registry. */
export interface RegistryObserver {
  /** Number of channels cached on this node. */
  knownChannels?(count: number): void;
  /** This node's sweep removed `count` expired channels from the registry. */
  channelsExpired?(count: number): void;
}

/** The slice of a pino logger the bus uses. */
export interface BusLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** What every bus factory takes. */
export interface BusOptions {
  readonly observer?: BusObserver | undefined;
  readonly logger?: BusLogger | undefined;
}

/** The bus could not confirm an operation in time; its outcome is unknown. */
export class BusUnavailableError extends Error {
  readonly code = "unavailable";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BusUnavailableError";
  }
}

/** Thrown by a second {@link Bus.onDeliver}: a bus has one delivery handler. */
export function secondHandlerError(): Error {
  return new Error("the bus already has a delivery handler");
}

/** The delivery handler of a bus that has none yet: drops the message. */
export const dropDelivery: DeliverFn = () => {};

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
