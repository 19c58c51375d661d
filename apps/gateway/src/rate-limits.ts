import { drained, refilled } from "./token-bucket.js";

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
 * The rates of one hub's connections, worked out once per hub. Besides the two buckets, a
 * connection has an excess level: every refused command adds one, the level drains at half
 * the command rate, and past 5 s worth of the command rate the connection is taken for
 * abusive and closed (4029). So a client that keeps sending at twice its limit is closed after
 * about 10 s, a flood within moments, and one that only grazes the limit never.
 */
export class RatePolicy {
  readonly commandsPerMs: number;
  readonly commandsBurst: number;
  readonly publishesPerMs: number;
  readonly publishesBurst: number;
  /** How fast the excess of refused commands drains, and past which level the connection is closed. */
  readonly excessDrainPerMs: number;
  readonly excessThreshold: number;

  constructor(limits: SessionLimits) {
    this.commandsPerMs = limits.commandsPerSecond / 1000;
    this.commandsBurst = limits.commandsPerSecond * burstSeconds;
    this.publishesPerMs = limits.publishesPerSecond / 1000;
    this.publishesBurst = limits.publishesPerSecond * burstSeconds;
    this.excessDrainPerMs = limits.commandsPerSecond / 2 / 1000;
    this.excessThreshold = limits.commandsPerSecond * excessSeconds;
  }
}

/**
 * One connection's rates: a token bucket for every frame, one for publishes, and how far past
 * them it has gone (the excess level of {@link RatePolicy}). One object with one clock for the
 * three (every connection holds one, so it is kept small): each is brought up to date at every
 * use, which gives what three separate meters would.
 */
export class ConnectionRates {
  private lastMs: number;
  private commands: number;
  private publishes: number;
  private excess = 0;

  constructor(
    private readonly policy: RatePolicy,
    nowMs: number,
  ) {
    this.lastMs = nowMs;
    this.commands = policy.commandsBurst;
    this.publishes = policy.publishesBurst;
  }

  /** Takes a token for a frame; false (nothing taken) when the client is over its command rate. */
  takeCommand(nowMs: number): boolean {
    this.advance(nowMs);
    if (this.commands < 1) return false;
    this.commands -= 1;
    return true;
  }

  /** Takes a token for a publish; false (nothing taken) when the client is over its publish rate. */
  takePublish(nowMs: number): boolean {
    this.advance(nowMs);
    if (this.publishes < 1) return false;
    this.publishes -= 1;
    return true;
  }

  /** Counts a refused command; true when the client has gone far enough past its limits to be closed. */
  refused(nowMs: number): boolean {
    this.advance(nowMs);
    this.excess += 1;
    return this.excess > this.policy.excessThreshold;
  }

  private advance(nowMs: number): void {
    const elapsed = nowMs - this.lastMs;
    if (elapsed <= 0) return;
    this.lastMs = nowMs;
    const { policy } = this;
    this.commands = refilled(this.commands, elapsed, policy.commandsPerMs, policy.commandsBurst);
    this.publishes = refilled(this.publishes, elapsed, policy.publishesPerMs, policy.publishesBurst);
    this.excess = drained(this.excess, elapsed, policy.excessDrainPerMs);
  }
}
