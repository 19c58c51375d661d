/**
 * The message bus between gateway nodes. It carries opaque frame bytes per topic and knows
 * nothing of sockets or the wire protocol. Two implementations: in-process (one node) and
 * Redis (one server, found directly or through Sentinel, or Redis Cluster with sharded pub/sub).
 */
export interface Bus {
  /** What carries the messages, for logs and `/readyz`. */
  readonly kind: "memory" | "redis" | "redis-cluster" | "redis-sentinel";
  /**
   * Registers the one handler of everything the bus delivers to this node, in bus order per
   * topic. Call it once, before the first subscribe; a second call throws. Messages that
   * arrive while no handler is registered are dropped.
   */
  onDeliver(handler: DeliverFn): void;
  /**
   * Registers the handler of unrecoverable gaps: messages on a topic with history that this
   * node missed and could not fill (the history was lost or trimmed past them). Call it
   * once; a second call throws. Without a handler gaps are only logged.
   */
  onGap(handler: GapFn): void;
  /**
   * Adds one local reference to `topic`; the first one subscribes upstream. Resolves once
   * every message published after it will be delivered here. Rejects with
   * {@link BusUnavailableError} when the bus did not confirm in time (the reference is
   * then not taken). `history` says the topic keeps history (the gateway's config; every
   * node must say the same for a topic): its messages then arrive with their position, in
   * offset order, without gap or duplicate.
   */
  subscribe(topic: string, history?: HistoryOptions): Promise<void>;
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
  /**
   * Publishes on a topic with history: stores the message and publishes it in one atomic
   * step, so the stored order is the delivered order. `head` is the frame without its end;
   * the bus completes it as `head + format.offset + N + format.epoch + E + format.end` once
   * it knows the position (N, E), and that completed frame is what every subscriber
   * receives and what is stored. Resolves (or returns, when accepted synchronously) with
   * the position; rejects like {@link publish}.
   */
  publishWithHistory(
    topic: string,
    head: Uint8Array,
    history: HistoryOptions,
    format: PositionFormat,
  ): Promise<StreamPosition> | StreamPosition;
  /**
   * Reads a topic's history: the messages after `since` (all of them, at most `limit`), or
   * without `since` the last `limit`, oldest first, and the position now. Starts the
   * topic's history (a new epoch at offset 0) when it has none. `complete` says whether
   * every message after `since` was still there (same epoch, not trimmed or expired).
   */
  history(topic: string, query: HistoryQuery, history: HistoryOptions): Promise<HistoryPage>;
  /**
   * The last position this node delivered on `topic` (or the position it started from),
   * while it is subscribed to the topic with history; undefined otherwise or when the
   * topic had no history yet. Every later delivery on the topic comes after it.
   */
  deliveredPosition(topic: string): StreamPosition | undefined;
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
export type DeliverFn = (topic: string, frame: Uint8Array, publishedAtMs: number, position?: StreamPosition) => void;

/** Called when this node missed messages on `topic` that its history no longer holds. */
export type GapFn = (topic: string) => void;

/** How a topic keeps its history: the last `size` messages, for `ttlMs` after the last publish. */
export interface HistoryOptions {
  readonly size: number;
  readonly ttlMs: number;
}

/**
 * Where a message stands in its topic's history: `offset` grows by one per message, `epoch`
 * names one life of the history (it changes when the history was lost or expired).
 */
export interface StreamPosition {
  readonly offset: number;
  readonly epoch: string;
}

/** The text pieces that complete a frame with its position (see {@link Bus.publishWithHistory}). */
export interface PositionFormat {
  readonly offset: string;
  readonly epoch: string;
  readonly end: string;
}

/** What to read of a topic's history. */
export interface HistoryQuery {
  /** Only messages after this position (same epoch). */
  readonly since?: StreamPosition | undefined;
  /** Most messages returned. */
  readonly limit: number;
}

/** One stored message: its offset and the exact frame subscribers received. */
export interface HistoryEntry {
  readonly offset: number;
  readonly frame: Uint8Array;
}

/** What {@link Bus.history} returns. */
export interface HistoryPage {
  /** The topic's position when it was read: the offset of its last message (0: none yet) and the epoch. */
  readonly position: StreamPosition;
  readonly entries: readonly HistoryEntry[];
  /**
   * With `since`: true when `since` is of the current epoch and every message after it is
   * still kept, so `entries` (up to `limit`) continue it without a hole. Without `since`: true.
   */
  readonly complete: boolean;
}

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
   * {@link BusUnavailableError}).
   */
  exists(hub: string, channel: string): boolean | Promise<boolean>;
  /**
   * {@link exists} for a publish, asked for every one: when the channel exists, the publish
   * is activity and the channel lives another TTL (written upstream at most once per
   * refresh period per node). One cache lookup on the hot path.
   */
  publishing(hub: string, channel: string): boolean | Promise<boolean>;
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
  /** Messages missed on a topic with history were read back from the history and delivered. */
  gapFilled?(messages: number): void;
  /** Messages missed on a topic with history could not be read back (see {@link GapFn}). */
  gapLost?(): void;
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

/** Thrown by a second {@link Bus.onGap}. */
export function secondGapHandlerError(): Error {
  return new Error("the bus already has a gap handler");
}

/** The gap handler of a bus that has none yet. */
export const ignoreGap: GapFn = () => {};

/** The delivery handler of a bus that has none yet: drops the message. */
export const dropDelivery: DeliverFn = () => {};

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
