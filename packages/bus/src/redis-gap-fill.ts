import type { BusLogger, BusObserver, HistoryOptions, StreamPosition } from "./bus.js";
import { type Envelope, readEnvelope } from "./redis-envelope.js";
import type { HistoryKeys, StoredRange } from "./redis-scripts.js";

/** A failed read of missed messages is tried again after this long, doubling up to {@link maxRetryMs}. */
const firstRetryMs = 50;
const maxRetryMs = 1000;

/**
 * What a node knows of one topic with history while it has local subscribers: the position
 * of the last message it delivered (or started from), and the live messages held back
 * while it reads missed ones from the stream.
 */
export interface HistoryTrack {
  readonly topic: string;
  readonly keys: HistoryKeys;
  readonly options: HistoryOptions;
  /** Undefined while the topic had no history when this node last looked. */
  epoch: string | undefined;
  /** Offset of the last message delivered in `epoch` (0: none). */
  last: number;
  /** A read of missed messages is under way; live messages wait in `held`. */
  filling: boolean;
  /** Read again once the current read is done (the subscriber connection changed meanwhile). */
  again: boolean;
  readonly held: Envelope[];
  /** The node dropped the topic: nothing more is delivered or read for it. */
  released: boolean;
  /** When the last live message arrived (or the track started), `performance.now()` ms. */
  heardAtMs: number;
}

export function createTrack(
  topic: string,
  keys: HistoryKeys,
  options: HistoryOptions,
  start: StreamPosition | undefined,
): HistoryTrack {
  return {
    topic,
    keys,
    options,
    epoch: start?.epoch,
    last: start?.offset ?? 0,
    filling: false,
    again: false,
    held: [],
    released: false,
    heardAtMs: performance.now(),
  };
}

/** The position a track has delivered up to, as the bus reports it. */
export function trackPosition(track: HistoryTrack): StreamPosition | undefined {
  return track.epoch === undefined ? undefined : { offset: track.last, epoch: track.epoch };
}

export interface GapFillerDeps {
  /** Reads the kept messages of `keys` after offset `after` (at most `count`), and the position. */
  read(keys: HistoryKeys, after: number, count: number): Promise<StoredRange>;
  /** Reads only the position of `keys` (cheap): undefined when there is no history. */
  position(keys: HistoryKeys): Promise<StreamPosition | undefined>;
  /** Hands one message to the bus's delivery handler. */
  deliver(topic: string, envelope: Envelope): void;
  /** Messages on `topic` were missed and cannot be read back. */
  lost(topic: string): void;
  /** Whether reads may still be tried (the bus is not closing). */
  active(): boolean;
  readonly observer: BusObserver | undefined;
  readonly logger: BusLogger | undefined;
}

/**
 * Makes a node's deliveries on a topic with history gapless and duplicate-free. A live
 * message at `last + 1` is delivered; at or below `last` it is a duplicate and dropped;
 * beyond `last + 1` it starts a fill: live messages of the topic are held, the missed range
 * is read from the stream and delivered in order, then the held ones. After the subscriber
 * connection came back ({@link resume}) every topic is read from `last` the same way, since
 * what was published meanwhile may never be followed by a live message. A stream found
 * behind `last` in the same epoch (a replica promoted without the last messages) is a gap
 * too: its offsets will be used again. A message of a new
 * epoch restarts the count at 0 (the old history ended: expired, with nothing missed on a
 * connection that stayed up). When the missed range is gone (another epoch, trimmed,
 * expired) the topic is reported lost and its count moves to the stream's position.
 * Quiet topics are read now and then ({@link checkQuiet}), for losses no event announces.
 */
export class GapFiller {
  constructor(private readonly deps: GapFillerDeps) {}

  /** A live message of `track`'s topic. */
  offer(track: HistoryTrack, envelope: Envelope): void {
    if (track.released) return;
    track.heardAtMs = performance.now();
    if (envelope.position === undefined) {
      // No position (not stored): it has no place in the count and does not wait for it.
      this.deps.deliver(track.topic, envelope);
      return;
    }
    if (track.filling) {
      track.held.push(envelope);
      return;
    }
    this.accept(track, envelope);
  }

  /** The subscriber connection came back: reads every topic from where it stands. */
  resume(tracks: Iterable<HistoryTrack>): void {
    for (const track of tracks) {
      if (track.released) continue;
      if (track.filling) track.again = true;
      else this.fill(track);
    }
  }

  /**
   * Compares the position of every topic quiet for `quietMs` with where the node stands,
   * and reads the difference. A busy topic shows a loss by its next offset; a quiet one
   * would not until its next message, so a loss no event announced is found this way. One
   * small read per quiet topic, not more often than every `quietMs`.
   */
  checkQuiet(tracks: Iterable<HistoryTrack>, quietMs: number): void {
    const before = performance.now() - quietMs;
    for (const track of tracks) {
      if (track.released || track.filling || track.heardAtMs > before) continue;
      track.heardAtMs = performance.now();
      const { epoch, last } = track;
      this.deps.position(track.keys).then(
        (position) => {
          if (track.released || track.filling || track.epoch !== epoch || track.last !== last) return;
          const behind = position === undefined ? epoch !== undefined : position.epoch !== epoch || position.offset !== last;
          if (behind) this.fill(track);
        },
        () => {},
      );
    }
  }

  private accept(track: HistoryTrack, envelope: Envelope): void {
    const position = envelope.position;
    if (position === undefined) return;
    if (position.epoch !== track.epoch) {
      track.epoch = position.epoch;
      track.last = 0;
    }
    if (position.offset <= track.last) return;
    if (position.offset === track.last + 1) {
      track.last = position.offset;
      this.deps.deliver(track.topic, envelope);
      return;
    }
    track.held.push(envelope);
    this.fill(track);
  }

  private fill(track: HistoryTrack): void {
    track.filling = true;
    track.again = false;
    void this.read(track, firstRetryMs);
  }

  private async read(track: HistoryTrack, retryMs: number): Promise<void> {
    const { deps } = this;
    let range: StoredRange;
    try {
      range = await deps.read(track.keys, track.last, track.options.size);
    } catch (err) {
      if (track.released || !deps.active()) return;
      deps.logger?.debug(
        { err: (err as Error).message, topic: track.topic, retryInMs: retryMs },
        "reading missed messages failed; retrying",
      );
      await new Promise((resolve) => setTimeout(resolve, retryMs).unref());
      if (track.released || !deps.active()) return;
      return this.read(track, Math.min(retryMs * 2, maxRetryMs));
    }
    if (track.released) return;
    this.apply(track, range);
  }

  /** Delivers what the stream holds after `last`, or reports the topic lost; then the held messages. */
  private apply(track: HistoryTrack, range: StoredRange): void {
    const { deps } = this;
    const startedBlank = track.epoch === undefined && track.last === 0;
    const sameLife = range.epoch !== undefined && (range.epoch === track.epoch || startedBlank);
    const nothingToRead = range.epoch === undefined && startedBlank;
    let delivered = 0;
    let lost = !sameLife && !nothingToRead;
    if (sameLife) {
      track.epoch = range.epoch;
      // Behind what this node delivered: a promoted replica that had not received the last
      // messages (replication is asynchronous). Their offsets will be taken again by new
      // messages, which must not be dropped as seen: a gap, told, from the stream's position.
      if (range.offset < track.last) lost = true;
      else if (range.offset > track.last && range.first > track.last + 1) lost = true;
      else {
        for (const stored of range.entries) {
          const envelope = readEnvelope(stored.payload);
          if (envelope?.position === undefined || stored.offset <= track.last) continue;
          if (stored.offset !== track.last + 1) {
            lost = true;
            break;
          }
          track.last = stored.offset;
          deps.deliver(track.topic, envelope);
          delivered += 1;
        }
      }
    }
    if (lost) {
      deps.logger?.warn(
        {
          topic: track.topic,
          epoch: track.epoch,
          last: track.last,
          streamEpoch: range.epoch,
          streamOffset: range.offset,
          first: range.first,
        },
        "messages missed on a channel with history are no longer kept: its subscribers here are told",
      );
      deps.observer?.gapLost?.();
      track.epoch = range.epoch;
      track.last = range.offset;
      deps.lost(track.topic);
    } else if (delivered > 0) {
      deps.observer?.gapFilled?.(delivered);
      deps.logger?.info({ topic: track.topic, messages: delivered }, "missed messages read back from the history");
    }
    track.filling = false;
    const held = track.held.splice(0);
    for (const envelope of held) {
      if (track.filling) track.held.push(envelope);
      else this.accept(track, envelope);
    }
    if (track.again && !track.filling) this.fill(track);
  }
}
