import type { HttpPublishTarget } from "./http-publisher.js";

/**
 * What the coordinating process and its load workers (threads or processes) tell each other.
 * Plain JSON-compatible objects, so that both transports carry them unchanged.
 */

/** One client connection of the load. */
export interface ConnSpec {
  readonly url: string;
  readonly channel: string;
  /** Subscribes to `channel` and counts what arrives (loss, latency). */
  readonly subscribe: boolean;
  /** Publishes to `channel`. At most one connection publishes on a channel. */
  readonly publish: boolean;
}

/** Connect–subscribe–disconnect cycles at a rate, next to the steady load. */
export interface ChurnSpec {
  readonly url: string;
  readonly channel: string;
  /** Cycles started per second by this worker. */
  readonly ratePerSec: number;
  /** How long a churning client stays subscribed before it disconnects. */
  readonly holdMs: number;
}

export interface SetupMessage {
  readonly type: "setup";
  readonly worker: number;
  readonly conns: readonly ConnSpec[];
  readonly secret: string;
  readonly readSecret: string;
  /** Every connection authenticates with this token instead (`--token-secret`). */
  readonly token: string | undefined;
  readonly event: string;
  readonly payloadBytes: number;
  /** Source addresses to spread connections over (none: the kernel's choice). */
  readonly sourceAddresses: readonly string[];
  /** Connections this worker opens at the same time during setup. */
  readonly connectConcurrency: number;
  readonly connectTimeoutMs: number;
  /**
   * Channels whose subscribers are spread over several workers: this worker reports the
   * lowest sequence number its subscribers of each have seen, and its publishers on them
   * wait for the lowest of all workers (sent back as `floor`).
   */
  readonly relayedChannels: readonly string[];
  readonly churn: ChurnSpec | undefined;
  readonly tickMs: number;
  /** Set (`--http-publish`): publishers POST to the HTTP API instead of publishing over their WebSocket. */
  readonly httpPublish?: HttpPublishTarget | undefined;
}

/**
 * Begins a phase in two steps: "reset" zeroes every worker's phase tallies (each answers
 * "reset-done"), and only then "start" sets publishers going. Otherwise a delivery could
 * reach a worker that has not reset yet and be counted in neither phase.
 */
export interface ResetMessage {
  readonly type: "reset";
  /** Histogram epoch: ticks carry it, the coordinator drops those of an older one. */
  readonly epoch: number;
}

export interface StartMessage {
  readonly type: "start";
  /** Publishes per second for this worker's publishers together; 0 publishes as fast as flow control allows. */
  readonly ratePerSec: number;
  /** Messages a publisher may be ahead of the slowest subscriber of its channel. */
  readonly window: number;
  readonly churn: boolean;
}

export interface MarkMessage {
  readonly type: "mark";
  readonly epoch: number;
}

export interface StopMessage {
  readonly type: "stop";
}

export interface DrainMessage {
  readonly type: "drain";
  /** Last sequence number published on each channel. */
  readonly lastSeq: Readonly<Record<string, number>>;
  readonly timeoutMs: number;
}

export interface FloorMessage {
  readonly type: "floor";
  /** Per relayed channel, the lowest sequence number seen (by this worker's subscribers, or by all). */
  readonly floors: Readonly<Record<string, number>>;
}

export interface CloseMessage {
  readonly type: "close";
}

export type ToWorker =
  | SetupMessage
  | ResetMessage
  | StartMessage
  | MarkMessage
  | StopMessage
  | DrainMessage
  | FloorMessage
  | CloseMessage;

/** Cumulative counters of one worker since setup. */
export interface Counters {
  readonly published: number;
  readonly acks: number;
  readonly errors: number;
  /** Deliveries to the steady subscribers (duplicates excluded). */
  readonly received: number;
  readonly churnCycles: number;
  readonly churnFailures: number;
  /** Open connections now (churning ones included). */
  readonly open: number;
  /** Connections the server closed or dropped since setup (churning ones excluded). */
  readonly dropped: number;
}

export interface ReadyMessage {
  readonly type: "ready";
  readonly opened: number;
  readonly failed: number;
  readonly firstError: string | undefined;
  readonly openMs: number;
}

export interface SetupProgressMessage {
  readonly type: "setup-progress";
  readonly opened: number;
  readonly failed: number;
}

export interface TickMessage {
  readonly type: "tick";
  readonly epoch: number;
  readonly counters: Counters;
  /** Delivery latencies recorded since the previous tick (encoded HdrHistogram, µs). */
  readonly latency: string;
}

export interface ResetDoneMessage {
  readonly type: "reset-done";
}

export interface MarkedMessage {
  readonly type: "marked";
  readonly counters: Counters;
}

export interface StoppedMessage {
  readonly type: "stopped";
  readonly counters: Counters;
  /** Last sequence number this worker published on each of its channels. */
  readonly lastSeq: Readonly<Record<string, number>>;
}

/** What one worker saw of a phase, from its start to the end of the drain. */
export interface PhaseCounts {
  readonly published: number;
  readonly acks: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly received: number;
  readonly duplicates: number;
  /** Sequence numbers skipped in the middle of a stream. */
  readonly gaps: number;
  /** Sequence numbers still missing at the end of the drain. */
  readonly tail: number;
  readonly churnCycles: number;
  readonly churnFailures: number;
  readonly churnDeliveries: number;
  readonly dropped: number;
  readonly closeCodes: Readonly<Record<string, number>>;
}

export interface DrainedMessage {
  readonly type: "drained";
  readonly counts: PhaseCounts;
  readonly counters: Counters;
  /** Latencies since the last tick (same epoch as the phase). */
  readonly latency: string;
  readonly epoch: number;
  /** Connect+auth+subscribe times of churning clients in this phase (encoded, µs). */
  readonly churnLatency: string;
}

export interface FatalMessage {
  readonly type: "fatal";
  readonly message: string;
}

export type FromWorker =
  | ReadyMessage
  | SetupProgressMessage
  | TickMessage
  | ResetDoneMessage
  | MarkedMessage
  | StoppedMessage
  | DrainedMessage
  | FloorMessage
  | FatalMessage;
