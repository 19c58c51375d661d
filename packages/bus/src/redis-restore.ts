import type { BusLogger } from "./bus.js";
import type { Canary } from "./redis-canary.js";
import type { Heartbeat } from "./redis-heartbeat.js";
import type { RedisLink } from "./redis-link.js";
import type { RedisNames } from "./redis-names.js";
import type { Subscriptions } from "./redis-subscriptions.js";

/** A failed restore is tried again after this long, doubling up to {@link maxRetryMs}. */
const firstRetryMs = 100;
const maxRetryMs = 1000;

/** One step of every restore beyond the bus's own, for what is kept in Redis beside the pub/sub. */
export interface RestoreStep {
  /** Names the step in logs. */
  readonly name: string;
  run(): Promise<void>;
}

export interface RestoreDeps {
  readonly link: RedisLink;
  readonly names: RedisNames;
  readonly node: string;
  readonly subscriptions: Subscriptions;
  readonly canary: Canary;
  readonly heartbeat: Heartbeat;
  /** Run in order after the resubscription (the channel registry). */
  readonly steps: readonly RestoreStep[];
  /** After Redis returns, the longest wait for peers to resubscribe before going on without them. */
  readonly peerGraceMs: number;
  readonly logger: BusLogger | undefined;
}

/**
 * Brings this node's Redis state back on the connections there are now: subscriber
 * generation `gen`. It learns the epoch (Redis run id), picks the canary channels,
 * subscribes every topic again, runs the extra steps (the registry writes its channels
 * back), writes the heartbeat, and waits for the peers seen before to do the same. A step
 * that fails is retried with backoff. Resolves true when everything is back, false as soon
 * as `current()` turns false (the bus moved on: a connection dropped, a newer restore began,
 * or it is closing); every step is idempotent, so a run that lost its turn does no harm.
 */
export async function restore(deps: RestoreDeps, gen: number, current: () => boolean): Promise<boolean> {
  const { link, names, node, subscriptions, canary, heartbeat, logger } = deps;
  const previousEpoch = heartbeat.epoch;
  let retryMs = firstRetryMs;
  for (;;) {
    let step = "epoch";
    try {
      const epoch = await link.epoch();
      step = "canary channels";
      const canaries = await link.canaryChannels(names.canary(node));
      canary.setChannels(canaries);
      if (!current()) return false;
      step = "resubscribe";
      await subscriptions.resubscribeAll(gen, canaries);
      for (const extra of deps.steps) {
        step = extra.name;
        await extra.run();
      }
      step = "heartbeat";
      await heartbeat.register(epoch);
      step = "peers";
      const missing = await heartbeat.waitForPeers(epoch, deps.peerGraceMs, current);
      if (missing.length > 0)
        logger?.warn(
          { peers: missing, peerGraceMs: deps.peerGraceMs },
          "peers did not resubscribe in time; going on without them",
        );
      if (!current()) return false;
      if (previousEpoch !== undefined && previousEpoch !== epoch)
        logger?.info({ runId: epoch }, "redis restarted: subscriptions and registry restored");
      return true;
    } catch (err) {
      if (!current()) return false;
      logger?.warn({ err: (err as Error).message, step, retryInMs: retryMs }, "restoring the Redis state failed; retrying");
      // A subscriber connection that does not answer is as good as dead: a new one brings a new restore.
      if (step === "resubscribe") {
        link.rebuildSubscriber();
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, retryMs).unref());
      retryMs = Math.min(retryMs * 2, maxRetryMs);
      if (!current()) return false;
    }
  }
}
