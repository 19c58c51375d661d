import type { BusObserver } from "./bus.js";
import { RedisTimeoutError } from "./redis-deadline.js";
import type { LinkEvents } from "./redis-link.js";
import { type RestoreDeps, restoreShard } from "./redis-restore.js";
import type { TopicEntry } from "./redis-subscriptions.js";
import { describeRedisTarget, type RedisTarget } from "./redis-url.js";

/**
 * Where the Redis bus is, as a whole (`/readyz`). Only `ready` answers 200.
 * - `connecting`: the command connection has never been up;
 * - `waiting`: a connection is missing (the commands', or a shard's subscriber connection:
 *   lost, or not open yet);
 * - `restoring`: every connection is up; on some shard subscriptions, registry and
 *   heartbeat are being restored and the peers awaited (redis-restore.ts);
 * - `ready`: every shard is;
 * - `closing`, `closed`.
 */
export type RedisBusPhase = "connecting" | "waiting" | "restoring" | "ready" | "closing" | "closed";

export interface RedisBusState {
  readonly phase: RedisBusPhase;
  /** Why the bus is in this phase, for logs and "unavailable" errors. */
  readonly reason: string;
}

/**
 * One shard as the bus sees it: a server, or a Cluster master. Publishes and subscribes on
 * its channels are accepted only while it is `ready` and the command connection is up. A
 * state is never changed in place: every transition makes a new one, so a publish holds the
 * one it started under and is acknowledged only while that is still the shard's state.
 */
export interface ShardState {
  readonly shard: string;
  readonly phase: "waiting" | "restoring" | "ready";
  readonly reason: string;
  /** The subscriber connection's generation; undefined while it is down. */
  readonly gen: number | undefined;
}

export interface BusStateDeps extends RestoreDeps {
  readonly target: RedisTarget;
  readonly observer: BusObserver | undefined;
  readonly heartbeatIntervalMs: number;
  readonly canaryIntervalMs: number;
  /** Topics subscribed again at another shard after a slot move: what they missed is read back. */
  readonly resubscribed: (entries: readonly TopicEntry[]) => void;
}

const waitingForSubscriber = "waiting for the Redis subscriber connection";

/**
 * The Redis bus's state machine: one state per shard, each changed only by {@link set}, the
 * bus's phase derived from them, and the inputs that move them: the link's connection and
 * topology events, each shard's restore, the heartbeat (a restarted server) and the canary (a
 * dead subscription, a hung server). A fault on one Cluster master moves that shard alone:
 * the others keep accepting.
 */
export class RedisBusStateMachine implements Omit<LinkEvents, "message"> {
  private current: RedisBusState = { phase: "connecting", reason: "connecting to Redis" };
  private commandsSeen = false;
  private readonly shards = new Map<string, ShardState>();
  /** Error messages already logged at warn since the bus was last ready. */
  private readonly loggedErrors = new Set<string>();
  private readonly timers: NodeJS.Timeout[];

  constructor(private readonly deps: BusStateDeps) {
    this.timers = [
      setInterval(() => void this.beat(), deps.heartbeatIntervalMs),
      setInterval(() => void this.checkCanary(), deps.canaryIntervalMs),
    ];
    for (const timer of this.timers) timer.unref();
    for (const shard of deps.link.shards()) this.shards.set(shard, this.waiting(shard, waitingForSubscriber));
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

  /** `shard`'s state while it accepts publishes and subscribes; undefined otherwise. */
  accepting(shard: string | undefined): ShardState | undefined {
    if (shard === undefined || this.closing || !this.deps.link.commandsUp) return undefined;
    const state = this.shards.get(shard);
    return state?.phase === "ready" ? state : undefined;
  }

  /** Whether `state` is still its shard's state: nothing happened to the shard since. */
  still(state: ShardState): boolean {
    return this.shards.get(state.shard) === state && !this.closing && this.deps.link.commandsUp;
  }

  /** Why `shard` does not accept now, for "unavailable" errors. */
  reasonFor(shard: string | undefined): string {
    if (this.closing) return "bus closed";
    if (!this.deps.link.commandsUp) return `Redis not ready: ${this.current.reason}`;
    const state = shard === undefined ? undefined : this.shards.get(shard);
    return `Redis not ready: ${state?.reason ?? "no Redis server known for this channel"}`;
  }

  commandsChanged(up: boolean): void {
    const { observer, logger } = this.deps;
    observer?.connectionChanged?.(up);
    if (this.closing) return;
    if (!up) {
      logger?.warn({}, "redis connection lost");
      for (const state of this.shards.values()) this.set(state.shard, "waiting", "Redis connection lost", state.gen);
      this.derive();
      return;
    }
    const first = !this.commandsSeen;
    this.commandsSeen = true;
    logger?.info(
      { redis: describeRedisTarget(this.deps.target), kind: this.deps.link.kind },
      first ? "redis connected" : "redis reconnected",
    );
    if (!first) observer?.reconnected?.();
    // Redis may have restarted meanwhile: every shard with a subscriber connection restores.
    for (const state of this.shards.values()) {
      if (state.gen !== undefined && state.phase !== "restoring") this.startRestore(state.shard, "connected");
    }
    this.derive();
  }

  subscriberChanged(shard: string, up: boolean): void {
    if (this.closing || !this.shards.has(shard)) return;
    if (!up) {
      this.deps.logger?.warn({ shard }, "redis subscriber connection lost");
      this.set(shard, "waiting", "Redis subscriber connection lost", undefined);
    } else if (this.deps.link.commandsUp) this.startRestore(shard, "connected");
    else this.set(shard, "waiting", "waiting for the Redis connection", this.deps.link.generation(shard));
    this.derive();
  }

  topologyChanged(): void {
    if (this.closing) return;
    const { link, canary, heartbeat } = this.deps;
    const now = new Set(link.shards());
    for (const shard of this.shards.keys()) {
      if (now.has(shard)) continue;
      this.shards.delete(shard);
      canary.drop(shard);
      heartbeat.drop(shard);
      this.deps.logger?.info({ shard }, "redis shard gone");
    }
    for (const shard of now) {
      if (this.shards.has(shard)) continue;
      this.shards.set(shard, this.waiting(shard, waitingForSubscriber));
      this.deps.logger?.info({ shard }, "redis shard found");
    }
    for (const state of this.shards.values()) if (state.phase === "ready") this.follow(state);
    this.derive();
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

  private waiting(shard: string, reason: string): ShardState {
    return { shard, phase: "waiting", reason, gen: this.deps.link.generation(shard) };
  }

  /** The one place a shard's state changes. */
  private set(shard: string, phase: ShardState["phase"], reason: string, gen: number | undefined): ShardState {
    const state: ShardState = { shard, phase, reason, gen };
    this.shards.set(shard, state);
    this.deps.logger?.debug({ shard, to: phase, reason }, "shard state");
    return state;
  }

  /** The bus's phase from its shards'. */
  private derive(): void {
    if (this.closing) return;
    const { link } = this.deps;
    if (!this.commandsSeen) return this.enter("connecting", "connecting to Redis");
    if (!link.commandsUp) return this.enter("waiting", "Redis connection lost");
    if (this.shards.size === 0) return this.enter("waiting", "waiting for the Redis Cluster's slot table");
    const states = [...this.shards.values()];
    const waiting = states.find((s) => s.phase === "waiting");
    if (waiting) return this.enter("waiting", waiting.reason);
    const restoring = states.find((s) => s.phase === "restoring");
    if (restoring) return this.enter("restoring", restoring.reason);
    this.enter("ready", "subscribed");
  }

  /** The one place the bus's phase changes: logs it, and tells the observer when readiness flips. */
  private enter(phase: RedisBusPhase, reason: string): void {
    const { observer, logger } = this.deps;
    const was = this.current;
    if (was.phase === phase && was.reason === reason) return;
    this.current = { phase, reason };
    logger?.debug({ from: was.phase, to: phase, reason }, "bus state");
    const ready = phase === "ready";
    if (ready === (was.phase === "ready")) return;
    if (ready) this.loggedErrors.clear();
    observer?.readyChanged?.(ready, reason);
    if (ready || phase === "closing") logger?.info({ reason }, ready ? "bus ready" : "bus not ready");
    else logger?.warn({ reason }, "bus not ready");
  }

  /** Restores `shard` on the connections there are now; the run counts only while the state it began in lasts. */
  private startRestore(shard: string, reason: string): void {
    const gen = this.deps.link.generation(shard);
    if (gen === undefined) {
      this.set(shard, "waiting", waitingForSubscriber, undefined);
      this.derive();
      return;
    }
    const started = this.set(shard, "restoring", reason, gen);
    this.derive();
    const stillCurrent = () => this.still(started);
    void restoreShard(this.deps, shard, gen, stillCurrent).then((done) => {
      if (!done || !stillCurrent()) return;
      const ready = this.set(shard, "ready", "subscribed", gen);
      this.derive();
      // Topics a slot move brought here while it restored.
      this.follow(ready);
    });
  }

  /**
   * On a ready shard: subscribes the topics it owns now but that are not confirmed on its
   * connection (a slot moved them here), and has what they missed read back. A canary that
   * moved away takes a restore, which picks a new one.
   */
  private follow(state: ShardState): void {
    const { link, canary, subscriptions, logger } = this.deps;
    const gen = state.gen;
    if (gen === undefined) return;
    const channel = canary.channelOf(state.shard);
    if (channel !== undefined && link.shardOf(channel) !== state.shard) {
      this.startRestore(state.shard, "slot table changed");
      return;
    }
    subscriptions.follow(state.shard, gen).then(
      (moved) => {
        if (moved.length === 0) return;
        logger?.info({ shard: state.shard, channels: moved.length }, "channels subscribed again after a slot move");
        this.deps.resubscribed(moved);
      },
      (err: Error) => {
        if (!this.still(state)) return;
        logger?.warn({ shard: state.shard, err: err.message }, "subscribing channels after a slot move failed");
        this.startRestore(state.shard, "subscribing after a slot move failed");
      },
    );
  }

  /** Notices a restarted server on a ready shard (new run id), refreshes the heartbeat, notes peers. */
  private async beat(): Promise<void> {
    const { link, heartbeat, logger } = this.deps;
    if (this.closing || !link.commandsUp) return;
    for (const state of [...this.shards.values()]) {
      if (state.phase !== "ready") continue;
      try {
        const runId = await link.runId(state.shard);
        if (this.still(state) && runId !== heartbeat.runIds.get(state.shard)) {
          this.startRestore(state.shard, "Redis restarted");
        }
      } catch (err) {
        logger?.debug({ err: (err as Error).message, shard: state.shard }, "run id check failed");
      }
    }
    try {
      const { joined, gone } = await heartbeat.beat();
      for (const peer of joined) logger?.info({ peer }, "peer node joined");
      for (const peer of gone) logger?.info({ peer }, "peer node gone");
    } catch (err) {
      logger?.debug({ err: (err as Error).message }, "heartbeat failed");
    }
  }

  /** On ready shards: a canary that did not come back means a dead subscription; one that timed out, a hung server. */
  private async checkCanary(): Promise<void> {
    const { canary, link, observer, logger } = this.deps;
    if (this.closing || canary.busy || !link.commandsUp) return;
    const checked = [...this.shards.values()].filter((s) => s.phase === "ready");
    if (checked.length === 0) return;
    const results = await canary.check(checked.map((s) => s.shard));
    for (const state of checked) {
      const result = results.get(state.shard);
      if (result === undefined || result.ok || !this.still(state)) continue;
      if (result.lost) {
        observer?.canaryFailed?.();
        logger?.warn(
          { shard: state.shard, channels: [result.channel] },
          "pub/sub canary did not come back: rebuilding the subscriber connection",
        );
        this.set(state.shard, "waiting", "pub/sub canary lost", state.gen);
        this.derive();
        link.rebuildSubscriber(state.shard);
      } else if (result.error instanceof RedisTimeoutError) {
        this.startRestore(state.shard, "Redis not answering");
      }
    }
  }
}
