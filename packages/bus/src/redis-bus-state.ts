import type { BusObserver } from "./bus.js";
import type { LinkEvents } from "./redis-link.js";
import { RedisTimeoutError } from "./redis-link.js";
import { type RestoreDeps, restore } from "./redis-restore.js";
import { describeRedisTarget, type RedisTarget } from "./redis-url.js";

/**
 * Where the Redis bus is. Only `ready` acknowledges publishes.
 * - `connecting`: the command connection has never been up;
 * - `waiting`: a connection is missing (lost, or the subscriber not open yet);
 * - `restoring`: both are up; subscriptions, registry and heartbeat are being restored and
 *   the peers awaited (redis-restore.ts);
 * - `ready`;
 * - `closing`, `closed`.
 */
export type RedisBusPhase = "connecting" | "waiting" | "restoring" | "ready" | "closing" | "closed";

export interface RedisBusState {
  readonly phase: RedisBusPhase;
  /** Why the bus is in this phase, for logs and "unavailable" errors. */
  readonly reason: string;
}

export interface BusStateDeps extends RestoreDeps {
  readonly target: RedisTarget;
  readonly observer: BusObserver | undefined;
  readonly heartbeatIntervalMs: number;
  readonly canaryIntervalMs: number;
}

/**
 * The Redis bus's state machine: one state value, changed only by {@link enter}, and the
 * inputs that move it: the link's connection events, the restore's outcome, the heartbeat
 * (a restarted Redis) and the canary (a dead subscription, a hung Redis).
 */
export class RedisBusStateMachine implements Omit<LinkEvents, "message"> {
  private current: RedisBusState = { phase: "connecting", reason: "connecting to Redis" };
  /** Bumps on every new subscriber connection; a subscription counts on the generation Redis confirmed it on. */
  private generation = 0;
  /** Error messages already logged at warn since the bus was last ready. */
  private readonly loggedErrors = new Set<string>();
  private readonly timers: NodeJS.Timeout[];

  constructor(private readonly deps: BusStateDeps) {
    this.timers = [
      setInterval(() => void this.beat(), deps.heartbeatIntervalMs),
      setInterval(() => void this.checkCanary(), deps.canaryIntervalMs),
    ];
    for (const timer of this.timers) timer.unref();
  }

  get state(): RedisBusState {
    return this.current;
  }

  get ready(): boolean {
    return this.current.phase === "ready";
  }

  get closing(): boolean {
    return this.current.phase === "closing" || this.current.phase === "closed";
  }

  /** The generation of the subscriber connection there is now; undefined while there is none. */
  subscriberGeneration(): number | undefined {
    return this.deps.link.subscriberUp && !this.closing ? this.generation : undefined;
  }

  commandsChanged(up: boolean): void {
    const { observer, logger } = this.deps;
    observer?.connectionChanged?.(up);
    if (!up) {
      logger?.warn({}, "redis connection lost");
      this.connectionLost("Redis connection lost");
      return;
    }
    const first = this.current.phase === "connecting";
    logger?.info(
      { redis: describeRedisTarget(this.deps.target), kind: this.deps.link.kind },
      first ? "redis connected" : "redis reconnected",
    );
    if (!first) observer?.reconnected?.();
    this.connectionUp();
  }

  subscriberChanged(up: boolean): void {
    if (!up) {
      this.deps.logger?.warn({}, "redis subscriber connection lost");
      this.connectionLost("Redis subscriber connection lost");
      return;
    }
    this.generation += 1;
    this.connectionUp();
  }

  error(err: Error, connection: string): void {
    const message = err.message;
    if (this.ready || this.loggedErrors.has(message)) {
      this.deps.logger?.debug({ err: message, connection }, "redis error");
      return;
    }
    this.loggedErrors.add(message);
    this.deps.logger?.warn({ err: message, connection }, "redis error");
  }

  /** Stops the watchdogs; `done` runs once nothing is acknowledged any more. */
  async close(done: () => Promise<void>): Promise<void> {
    this.enter("closing", "closing");
    for (const timer of this.timers) clearInterval(timer);
    await done();
    this.enter("closed", "closed");
  }

  /** The one place the phase changes: logs it, and tells the observer when readiness flips. */
  private enter(phase: RedisBusPhase, reason: string): void {
    const { observer, logger } = this.deps;
    const was = this.current;
    this.current = { phase, reason };
    logger?.debug({ from: was.phase, to: phase, reason }, "bus state");
    const ready = phase === "ready";
    if (ready === (was.phase === "ready")) return;
    if (ready) this.loggedErrors.clear();
    observer?.readyChanged?.(ready, reason);
    if (ready || phase === "closing") logger?.info({ reason }, ready ? "bus ready" : "bus not ready");
    else logger?.warn({ reason }, "bus not ready");
  }

  /** Restores on the connections there are now; the run counts only while the state it began in lasts. */
  private startRestore(reason: string): void {
    this.enter("restoring", reason);
    const started = this.current;
    const stillCurrent = () => this.current === started;
    void restore(this.deps, this.generation, stillCurrent).then((done) => {
      if (done && stillCurrent()) this.enter("ready", "subscribed");
    });
  }

  /** A connection came up: restore once both are. */
  private connectionUp(): void {
    const { phase } = this.current;
    const { link } = this.deps;
    if (this.closing || phase === "restoring" || phase === "ready") return;
    if (link.commandsUp && link.subscriberUp) this.startRestore("connected");
    else if (link.commandsUp) this.enter("waiting", "waiting for the Redis subscriber connection");
  }

  /** A connection was lost: nothing is acknowledged until both are back and restored. */
  private connectionLost(reason: string): void {
    if (this.closing) return;
    this.enter(this.current.phase === "connecting" ? "connecting" : "waiting", reason);
  }

  /** While ready: notices a restarted Redis (new run id), refreshes the heartbeat, notes peers. */
  private async beat(): Promise<void> {
    if (!this.ready) return;
    const { link, heartbeat, logger } = this.deps;
    const started = this.current;
    try {
      const epoch = await link.epoch();
      if (this.current !== started) return;
      if (epoch !== heartbeat.epoch) {
        this.startRestore("Redis restarted");
        return;
      }
      const { joined, gone } = await heartbeat.beat();
      for (const peer of joined) logger?.info({ peer }, "peer node joined");
      for (const peer of gone) logger?.info({ peer }, "peer node gone");
    } catch (err) {
      logger?.debug({ err: (err as Error).message }, "heartbeat failed");
    }
  }

  /** While ready: a canary that did not come back means a dead subscription; one that timed out, a hung Redis. */
  private async checkCanary(): Promise<void> {
    const { canary, link, observer, logger } = this.deps;
    if (!this.ready || canary.busy) return;
    const started = this.current;
    const result = await canary.check();
    if (result.ok || this.current !== started) return;
    if (result.lost) {
      observer?.canaryFailed?.();
      logger?.warn({ channels: result.channels }, "pub/sub canary did not come back: rebuilding the subscriber connection");
      this.enter("waiting", "pub/sub canary lost");
      link.rebuildSubscriber();
    } else if (result.error instanceof RedisTimeoutError) {
      this.startRestore("Redis not answering");
    }
  }
}
