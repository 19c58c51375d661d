import { randomBytes } from "node:crypto";
import type { HistoryEntry, HistoryOptions, HistoryPage, HistoryQuery, StreamPosition } from "./bus.js";

/** One life of a topic's history. */
interface Life {
  readonly epoch: string;
  offset: number;
  /** The kept messages, oldest first, at most `size`. */
  readonly entries: HistoryEntry[];
  expiresAtMs: number;
}

/** A new epoch name: 8 URL-safe characters, which need no escaping in JSON. */
export function newEpoch(): string {
  return randomBytes(6).toString("base64url");
}

/**
 * Whether the messages after `since` are all still kept: same epoch, not ahead of the
 * position, and not trimmed past it. `first` is the offset of the oldest message kept
 * (offset + 1 when none is).
 */
export function continues(since: StreamPosition, position: StreamPosition, first: number): boolean {
  return (
    since.epoch === position.epoch &&
    since.offset <= position.offset &&
    (since.offset === position.offset || first <= since.offset + 1)
  );
}

/**
 * The in-process bus's history: per topic the last `size` messages for `ttlMs` after the last
 * publish, with the same rules as the Redis layout (bus-redis.ts): offsets from 1 per epoch,
 * a new epoch when a history expired, reads start a history that has none. Expired
 * histories go when they are next touched, or at the next {@link sweep}.
 */
export class MemoryHistory {
  private readonly lives = new Map<string, Life>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Appends the frame `build` makes for the next position; returns both. */
  append(topic: string, options: HistoryOptions, build: (position: StreamPosition) => Uint8Array): HistoryEntry & StreamPosition {
    const life = this.lifeOf(topic, options);
    life.offset += 1;
    const position = { offset: life.offset, epoch: life.epoch };
    const frame = build(position);
    life.entries.push({ offset: life.offset, frame });
    if (life.entries.length > options.size) life.entries.splice(0, life.entries.length - options.size);
    life.expiresAtMs = this.now() + options.ttlMs;
    return { ...position, frame };
  }

  read(topic: string, query: HistoryQuery, options: HistoryOptions): HistoryPage {
    const life = this.lifeOf(topic, options);
    const position = { offset: life.offset, epoch: life.epoch };
    const { since, limit } = query;
    if (since === undefined)
      return { position, entries: life.entries.slice(Math.max(0, life.entries.length - limit)), complete: true };
    const first = life.entries[0]?.offset ?? life.offset + 1;
    if (!continues(since, position, first)) return { position, entries: [], complete: false };
    const after = life.entries.filter((e) => e.offset > since.offset);
    return { position, entries: after.slice(0, limit), complete: true };
  }

  /** The position now, without starting a history; undefined when the topic has none. */
  position(topic: string): StreamPosition | undefined {
    const life = this.live(topic);
    return life && { offset: life.offset, epoch: life.epoch };
  }

  /** Drops every expired history. */
  sweep(): void {
    const now = this.now();
    for (const [topic, life] of this.lives) if (life.expiresAtMs <= now) this.lives.delete(topic);
  }

  clear(): void {
    this.lives.clear();
  }

  /** How many histories are kept (expired ones included until swept). */
  get size(): number {
    return this.lives.size;
  }

  private live(topic: string): Life | undefined {
    const life = this.lives.get(topic);
    if (life === undefined || life.expiresAtMs > this.now()) return life;
    this.lives.delete(topic);
    return undefined;
  }

  private lifeOf(topic: string, options: HistoryOptions): Life {
    let life = this.live(topic);
    if (life === undefined) {
      life = { epoch: newEpoch(), offset: 0, entries: [], expiresAtMs: this.now() + options.ttlMs };
      this.lives.set(topic, life);
    }
    return life;
  }
}
