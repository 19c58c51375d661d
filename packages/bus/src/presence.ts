/**
 * Who is subscribed to what, cluster-wide: the audience of each topic. Every node tells the
 * bus its own part (how many of its connections of a user are on a topic, whether it has
 * subscribers of a topic at all); the bus keeps the sum for the cluster, decides once for
 * the cluster when a user joins or leaves a topic and when a topic gains or loses its
 * audience, publishes `join`/`leave` frames through the topic's own pub/sub channel (so they
 * take their place in the topic's one order), and records the events for webhooks. A dead
 * node's part vanishes on its own. Like the rest of the bus it knows nothing of the wire
 * protocol: frames come as text pieces from the gateway, users as opaque strings.
 */
export interface ClusterAudience {
  /**
   * Registers the one function that tells, for a topic, how its frames are made and whether
   * it keeps history. Call it once, before the first change; a second call throws.
   */
  onDescribe(describe: DescribeTopic): void;
  /**
   * This node now has `count` connections of `user` subscribed to `topic` (0: none). Sent
   * upstream in the background, changes coalesced per topic and applied in order; never
   * waits, never throws (a failure is retried).
   */
  setUser(topic: string, user: string, count: number): void;
  /** Whether this node has subscribers of `topic` now (for `channel_occupied`/`channel_vacated`). */
  setOccupied(topic: string, occupied: boolean): void;
  /** The users of `topic`, cluster-wide, with their connection counts. Rejects with `BusUnavailableError`. */
  users(topic: string): Promise<AudienceUser[]>;
  /** Resolves once every change made so far was sent (or failed). */
  settled(): Promise<void>;
  /** Stops; a node that left nothing behind takes its name off the cluster's list. Idempotent. */
  close(): Promise<void>;
}

/** How the frames of a topic's `join`/`leave` are made: `head + user + tail`. */
export interface PresenceFrames {
  readonly join: string;
  readonly leave: string;
  readonly tail: string;
}

/** What the bus needs to know of a topic to keep its audience. */
export interface TopicDescription {
  /** The topic keeps history: its frames go on its history channel, without a position. */
  readonly history: boolean;
  /** The frames of its `join`/`leave`; undefined: none are published (the topic has no Presence). */
  readonly frames: PresenceFrames | undefined;
}

export type DescribeTopic = (topic: string) => TopicDescription;

/** One user of a topic and its connections, cluster-wide. */
export interface AudienceUser {
  readonly user: string;
  readonly connections: number;
}

/** The events an audience records (for webhooks). */
export const audienceEventNames = ["channel_occupied", "channel_vacated", "join", "leave"] as const;
export type AudienceEventName = (typeof audienceEventNames)[number];

/** One recorded event. */
export interface AudienceEvent {
  readonly name: AudienceEventName;
  readonly topic: string;
  /** `join` and `leave` only. */
  readonly user?: string | undefined;
  /** When the bus decided it, epoch ms. */
  readonly atMs: number;
}

/** Where an in-process audience records its events. */
export interface EventSink {
  append(event: AudienceEvent): void;
}

/** Events taken from the queue by one node, to be acknowledged once delivered. */
export interface EventBatch {
  readonly ids: readonly string[];
  readonly events: readonly AudienceEvent[];
}

/**
 * The cluster's queue of recorded events: every event is taken by one node at a time, and
 * stays until acknowledged; events a node took and never acknowledged (it died) are taken
 * again by another after a while.
 */
export interface EventQueue {
  /** Takes up to `max` events nobody holds (those left by a node gone first). Rejects with `BusUnavailableError`. */
  take(max: number): Promise<EventBatch>;
  /** This node still works on `batch`: nobody else may take it yet. */
  keep(batch: EventBatch): Promise<void>;
  /** `batch` was delivered: it leaves the queue. */
  ack(batch: EventBatch): Promise<void>;
  /** Events waiting or held, cluster-wide. */
  depth(): Promise<number>;
}

/** The nodes of the cluster. */
export interface NodeDirectory {
  /** This node's name. */
  readonly self: string;
  /** The nodes alive now (with a fresh heartbeat), this one included. Rejects with `BusUnavailableError`. */
  alive(): Promise<string[]>;
}

/** Hooks the gateway turns into metrics. */
export interface AudienceObserver {
  /** This node removed what a node gone had left (its users and subscriber marks on `topics` topics). */
  nodeReaped?(topics: number): void;
  /** Sending this node's part failed (retried). */
  audienceFailed?(): void;
}

/** Thrown by a second {@link ClusterAudience.onDescribe}. */
export function secondDescribeError(): Error {
  return new Error("the audience already has a describe function");
}

/** The describe function of an audience that has none yet: plain topics without Presence. */
export const noDescription: DescribeTopic = () => ({ history: false, frames: undefined });

/** Whether an audience that records `events` needs to know which nodes have subscribers of a topic. */
export function tracksOccupancy(events: ReadonlySet<AudienceEventName>): boolean {
  return events.has("channel_occupied") || events.has("channel_vacated");
}
