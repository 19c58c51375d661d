import { ExcessMeter, TokenBucket } from "./token-bucket.js";

/** The per-connection limits a session enforces (see config-schema.ts). */
export interface SessionLimits {
  readonly commandsPerSecond: number;
  readonly publishesPerSecond: number;
  readonly subscriptionsPerConnection: number;
  readonly authFailures: number;
}

/** Buckets hold this many seconds of their rate: the burst a client may send at once. */
const burstSeconds = 2;
/** Refusals past this many seconds' worth of the command rate close the connection (4029). */
const excessSeconds = 5;

/**
 * One connection's rates: a bucket for every frame, one for publishes, and how far past them
 * it has gone (see {@link ExcessMeter}).
 */
export class ConnectionRates {
  readonly commands: TokenBucket;
  readonly publishes: TokenBucket;
  private readonly excess: ExcessMeter;

  constructor(limits: SessionLimits, nowMs: number) {
    this.commands = new TokenBucket(limits.commandsPerSecond, limits.commandsPerSecond * burstSeconds, nowMs);
    this.publishes = new TokenBucket(limits.publishesPerSecond, limits.publishesPerSecond * burstSeconds, nowMs);
    this.excess = new ExcessMeter(limits.commandsPerSecond / 2, limits.commandsPerSecond * excessSeconds, nowMs);
  }

  /** Counts a refused command; true when the client has gone far enough past its limits to be closed. */
  refused(nowMs: number): boolean {
    return this.excess.add(nowMs);
  }
}
