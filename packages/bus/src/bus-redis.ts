import { type Bus, type BusOptions, BusUnavailableError, nowMs } from "./bus.js";
import { createCanary } from "./redis-canary.js";
import { createHeartbeat } from "./redis-heartbeat.js";
import type { LinkEvents, RedisLink } from "./redis-link.js";
import { createClusterLink } from "./redis-link-cluster.js";
import { createSingleLink } from "./redis-link-single.js";
import { redisNames } from "./redis-names.js";
import { createRegistry } from "./redis-registry.js";
import { createSubscriptions } from "./redis-subscriptions.js";
import { parseRedisUrl, redactRedisUrl } from "./redis-url.js";

/** What `createRedisBus` takes beyond every bus's options. */
export interface RedisBusOptions extends BusOptions {
  /**
   * `redis://[user:pass@]host[:port][/db]`, `rediss://…` (TLS), or for a Redis Cluster
   * `redis+cluster://host:port,host:port,…` / `rediss+cluster://…` (seed nodes).
   */
  readonly url: string;
  /** Longest wait for Redis to confirm a publish or subscribe before "unavailable". */
  readonly publishTimeoutMs: number;
  /** This node's name, unique in the cluster (e.g. `host:pid`): canary channel, heartbeat key. */
  readonly node: string;
  /** Prefix of every Redis key and channel. Default "rocket:". */
  readonly prefix?: string;
  /** How often the pub/sub canary runs. Default 1000. */
  readonly canaryIntervalMs?: number;
  /** How long a canary may take to come back. Default 1000. */
  readonly canaryTimeoutMs?: number;
  /** How often a node writes its heartbeat and looks at its peers; keys live 3 times this. Default 1000. */
  readonly heartbeatIntervalMs?: number;
  /** After Redis returns, the longest wait for peers to resubscribe before acknowledging anyway. Default 2000. */
  readonly peerGraceMs?: number;
}

/** Bytes before the frame in every Redis message: the origin's `nowMs()` as a float64 (LE). */
const headerBytes = 8;

/**
 * The Redis bus. Every delivery, the origin's included, comes back through Redis, so every
 * node sees one order per channel. The frame is wrapped once at the origin (8-byte timestamp
 * + frame bytes) and receivers hand `payload.subarray(8)` to `deliver` without parsing.
 *
 * A publish is acknowledged only while the node is ready: connected, every local
 * subscription confirmed by Redis on the current subscriber connection, and, after Redis came
 * back from an outage, every peer seen before it resubscribed too (see redis-heartbeat.ts).
 * Delivery is at most once: Redis pub/sub keeps nothing for a subscriber that is away.
 * A rejected publish means "outcome unknown": a timed-out one may still be delivered.
 */
export function createRedisBus(options: RedisBusOptions): Bus {
  const { deliver, observer, logger, node, publishTimeoutMs } = options;
  const target = parseRedisUrl(options.url);
  const names = redisNames(options.prefix);
  const canaryIntervalMs = options.canaryIntervalMs ?? 1000;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1000;
  const peerGraceMs = options.peerGraceMs ?? 2000;

  let ready = false;
  let notReadyReason = "connecting to Redis";
  let closing: Promise<void> | undefined;
  let cmdUp = false;
  let subUp = false;
  let everConnected = false;
  let generation = 0;
  let epoch: string | undefined;
  let recovery: Promise<void> | undefined;
  let recoverAgain = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelayMs = 100;
  let canaryRunning = false;
  /** Error messages already logged at warn since the bus was last ready. */
  const loggedErrors = new Set<string>();

  /** Readiness changes are logged: at info when expected (ready, closing), at warn otherwise. */
  const setReady = (next: boolean, reason: string, expected = next) => {
    if (!next) notReadyReason = reason;
    if (ready === next) return;
    ready = next;
    if (next) loggedErrors.clear();
    observer?.readyChanged?.(next, reason);
    if (expected) logger?.info({ reason }, next ? "bus ready" : "bus not ready");
    else logger?.warn({ reason }, "bus not ready");
  };

  const events: LinkEvents = {
    // The receive path: one map lookup, no parse, no copy.
    message(channel, payload) {
      const key = channel.toString("latin1");
      const entry = subscriptions.byKey.get(key);
      if (entry === undefined) {
        canary.receive(key, payload);
        return;
      }
      if (payload.length < headerBytes) return;
      try {
        deliver(entry.topic, payload.subarray(headerBytes), payload.readDoubleLE(0));
      } catch (err) {
        logger?.error({ err, topic: entry.topic }, "delivery failed");
      }
    },
    commandsChanged(up) {
      cmdUp = up;
      observer?.connectionChanged?.(up);
      if (up) {
        logger?.info(
          { redis: redactRedisUrl(options.url), kind: link.kind },
          everConnected ? "redis reconnected" : "redis connected",
        );
        if (everConnected) observer?.reconnected?.();
        everConnected = true;
        kick();
      } else {
        logger?.warn({}, "redis connection lost");
        setReady(false, "Redis connection lost");
      }
    },
    subscriberChanged(up) {
      subUp = up;
      if (up) {
        generation += 1;
        kick();
      } else {
        logger?.warn({}, "redis subscriber connection lost");
        setReady(false, "Redis subscriber connection lost");
      }
    },
    error(err, connection) {
      const message = err.message;
      if (ready || loggedErrors.has(message)) {
        logger?.debug({ err: message, connection }, "redis error");
        return;
      }
      loggedErrors.add(message);
      logger?.warn({ err: message, connection }, "redis error");
    },
  };

  const link: RedisLink =
    target.kind === "redis"
      ? createSingleLink(target, { timeoutMs: publishTimeoutMs, node, events })
      : createClusterLink(target, { timeoutMs: publishTimeoutMs, node, events });

  const currentGeneration = () => (subUp && !closing ? generation : undefined);
  const subscriptions = createSubscriptions({
    names,
    link,
    timeoutMs: publishTimeoutMs,
    generation: currentGeneration,
    onCountChanged: (count) => observer?.subscribedTopics?.(count),
    onUnsubscribeFailed: (err) => logger?.debug({ err }, "unsubscribe failed"),
  });
  const registry = createRegistry({
    names,
    commands: link.commands,
    canAsk: () => ready,
    onCountChanged: (count) => observer?.knownChannels?.(count),
  });
  const heartbeat = createHeartbeat({ names, commands: link.commands, node, ttlMs: heartbeatIntervalMs * 3 });
  const canary = createCanary(link, options.canaryTimeoutMs ?? 1000);

  /** Restores subscriptions, registry and heartbeat on the connections there are now, then waits for peers. */
  const recover = async (): Promise<void> => {
    const gen = generation;
    const valid = () => !closing && cmdUp && subUp && generation === gen;
    let step = "epoch";
    try {
      const current = await link.epoch();
      step = "canary channels";
      const canaries = await link.canaryChannels(names.canary(node));
      canary.setChannels(canaries);
      if (!valid()) return;
      step = "resubscribe";
      await subscriptions.resubscribeAll(gen, canaries);
      step = "registry";
      await registry.reseed();
      step = "heartbeat";
      await heartbeat.register(current);
      step = "peers";
      const missing = await heartbeat.waitForPeers(current, peerGraceMs, valid);
      if (missing.length > 0)
        logger?.warn({ peers: missing, peerGraceMs }, "peers did not resubscribe in time; going on without them");
      if (!valid()) return;
      if (epoch !== undefined && epoch !== current)
        logger?.info({ runId: current }, "redis restarted: subscriptions and registry restored");
      epoch = current;
      retryDelayMs = 100;
      setReady(true, "subscribed");
    } catch (err) {
      if (closing) return;
      logger?.warn({ err: (err as Error).message, step, retryInMs: retryDelayMs }, "restoring the Redis state failed; retrying");
      // A subscriber connection that does not answer is as good as dead.
      if (step === "resubscribe" && valid()) link.rebuildSubscriber();
      retryTimer ??= setTimeout(() => {
        retryTimer = undefined;
        kick();
      }, retryDelayMs);
      retryTimer.unref();
      retryDelayMs = Math.min(retryDelayMs * 2, 1000);
    }
  };

  /** Starts a recovery when both connections are up; coalesces requests while one runs. */
  function kick(): void {
    if (closing || !cmdUp || !subUp || ready) return;
    if (recovery) {
      recoverAgain = true;
      return;
    }
    recovery = recover().finally(() => {
      recovery = undefined;
      if (recoverAgain) {
        recoverAgain = false;
        kick();
      }
    });
  }

  const beat = async () => {
    if (!ready || epoch === undefined) return;
    try {
      const current = await link.epoch();
      if (current !== epoch) {
        setReady(false, "Redis restarted");
        kick();
        return;
      }
      const { joined, gone } = await heartbeat.beat(current);
      for (const peer of joined) logger?.info({ peer }, "peer node joined");
      for (const peer of gone) logger?.info({ peer }, "peer node gone");
    } catch (err) {
      logger?.debug({ err: (err as Error).message }, "heartbeat failed");
    }
  };

  const checkCanary = async () => {
    if (!ready || canaryRunning) return;
    canaryRunning = true;
    try {
      const gen = generation;
      const result = await canary.check();
      if (result.ok || closing || gen !== generation) return;
      if (result.lost) {
        observer?.canaryFailed?.();
        logger?.warn({ channels: result.channels }, "pub/sub canary did not come back: rebuilding the subscriber connection");
        setReady(false, "pub/sub canary lost");
        link.rebuildSubscriber();
      } else if (/timed out/i.test(String((result.error as Error)?.message))) {
        setReady(false, "Redis not answering");
        kick();
      }
    } finally {
      canaryRunning = false;
    }
  };

  const heartbeatTimer = setInterval(() => void beat(), heartbeatIntervalMs);
  heartbeatTimer.unref();
  const canaryTimer = setInterval(() => void checkCanary(), canaryIntervalMs);
  canaryTimer.unref();

  return {
    kind: link.kind,
    subscribe(topic) {
      if (closing) return Promise.reject(new BusUnavailableError("bus closed"));
      return subscriptions.acquire(topic);
    },
    async unsubscribe(topic) {
      subscriptions.release(topic);
    },
    publish(topic, frame) {
      if (!ready) {
        observer?.publishFailed?.();
        return Promise.reject(new BusUnavailableError(closing ? "bus closed" : `Redis not ready: ${notReadyReason}`));
      }
      const payload = Buffer.allocUnsafe(headerBytes + frame.byteLength);
      payload.writeDoubleLE(nowMs(), 0);
      payload.set(frame, headerBytes);
      const started = performance.now();
      return link.publish(names.channel(topic), payload).then(
        () => {
          observer?.publishAcked?.((performance.now() - started) / 1000);
        },
        (err: unknown) => {
          observer?.publishFailed?.();
          throw new BusUnavailableError("Redis did not accept the publish", { cause: err });
        },
      );
    },
    registerChannel: (namespace, channel) => registry.register(namespace, channel),
    channelExists: (namespace, channel) => registry.exists(namespace, channel),
    isReady: () => ready,
    close() {
      closing ??= (async () => {
        setReady(false, "closing", true);
        clearInterval(heartbeatTimer);
        clearInterval(canaryTimer);
        if (retryTimer) clearTimeout(retryTimer);
        if (cmdUp) await heartbeat.deregister().catch(() => {});
        subscriptions.clear();
        await link.close();
      })();
      return closing;
    },
  };
}
