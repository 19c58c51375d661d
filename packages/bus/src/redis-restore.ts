import type { BusLogger } from "./bus.js";
import type { Canary } from "./redis-canary.js";
import { RedisTimeoutError } from "./redis-deadline.js";
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
  /** Runs for the restore of `shard` (steps about one shard's topics do only those). */
  run(shard: string): Promise<void>;
}

export interface RestoreDeps {
  readonly link: RedisLink;
  readonly names: RedisNames;
  readonly node: string;
  readonly subscriptions: Subscriptions;
  readonly canary: Canary;
  readonly heartbeat: Heartbeat;
  /** Run in order after the resubscription (history, the channel registry). */
  readonly steps: readonly RestoreStep[];
  /** After Redis returns, the longest wait for peers to resubscribe before going on without them. */
  readonly peerGraceMs: number;
  readonly logger: BusLogger | undefined;
}

/**
 * Brings this node's Redis state on one shard back, on the connections there are now: the
 * shard's subscriber connection of generation `gen`. It learns the shard server's run id on
 * the command connection and checks that the subscriber connection reached the same server
 * (after a Sentinel failover or a restart the two may briefly disagree), picks the shard's
 * canary channel, subscribes the shard's topics again, runs the extra steps (history gaps are
 * read back, the registry writes its channels back), writes the heartbeat, and waits for the
 * peers seen before to list the same run id. A step that fails is retried with backoff.
 * Resolves true when everything is back, false as soon as `current()` turns false (the shard
 * moved on: a connection dropped, a newer restore began, or the bus is closing); every step
 * is idempotent, so a run that lost its turn does no harm.
 */
export async function restoreShard(deps: RestoreDeps, shard: string, gen: number, current: () => boolean): Promise<boolean> {
  const { link, names, node, subscriptions, canary, heartbeat, logger } = deps;
  const previousRunId = heartbeat.runIds.get(shard);
  let retryMs = firstRetryMs;
  for (;;) {
    let step = "run id";
    try {
      const runId = await link.runId(shard);
      if (!current()) return false;
      const reached = link.subscriberRunId(shard, gen);
      if (reached !== runId) {
        logger?.warn(
          { shard, commands: runId, subscriber: reached },
          "the subscriber connection reached another Redis server: reconnecting it",
        );
        link.rebuildSubscriber(shard);
        return false;
      }
      step = "canary channel";
      const channel = link.canaryChannel(names.canary(node), shard);
      canary.set(shard, channel);
      step = "resubscribe";
      await subscriptions.resubscribe(shard, gen, [channel]);
      for (const extra of deps.steps) {
        step = extra.name;
        await extra.run(shard);
      }
      step = "heartbeat";
      heartbeat.set(shard, runId);
      await heartbeat.register();
      step = "peers";
      const missing = await heartbeat.waitForPeers(runId, deps.peerGraceMs, current);
      if (missing.length > 0)
        logger?.warn(
          { peers: missing, peerGraceMs: deps.peerGraceMs },
          "peers did not resubscribe in time; going on without them",
        );
      if (!current()) return false;
      if (previousRunId !== undefined && previousRunId !== runId)
        logger?.info({ runId, shard }, "redis restarted: subscriptions and registry restored");
      return true;
    } catch (err) {
      if (!current()) return false;
      logger?.warn(
        { err: (err as Error).message, shard, step, retryInMs: retryMs },
        "restoring the Redis state failed; retrying",
      );
      // A subscriber connection that does not answer is as good as dead: a new one brings a new restore.
      if (step === "resubscribe" && (err instanceof RedisTimeoutError || (err as Error).cause instanceof RedisTimeoutError)) {
        link.rebuildSubscriber(shard);
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, retryMs).unref());
      retryMs = Math.min(retryMs * 2, maxRetryMs);
      if (!current()) return false;
    }
  }
}
