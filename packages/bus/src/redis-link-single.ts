import type { Socket } from "node:net";
import { Redis } from "ioredis";
import { withDeadline } from "./redis-deadline.js";
import {
  baseOptions,
  connectionName,
  type LinkOptions,
  type RedisLink,
  reconnectDelay,
  redisCommands,
  runIdOf,
  UpState,
} from "./redis-link.js";
import { createPlainPublisher } from "./redis-publish.js";
import { defineHistoryScripts } from "./redis-scripts.js";
import { type ConnectionOptions, SubscriberConnection, SubscriberGoneError } from "./redis-subscriber.js";
import type { RedisTarget } from "./redis-url.js";

/** The one shard of a single server: every channel lives there. */
const shard = "redis";

type SingleTarget = Extract<RedisTarget, { kind: "redis" | "redis-sentinel" }>;

/**
 * Where the connections go. One server: its address. Sentinel: the Sentinels, which ioredis
 * asks for the master before each connection (and checks with `INFO` that it reached a
 * master); its failover detector subscribes to the Sentinels' `+switch-master` and drops the
 * connections at once when they promote a replica, so both connections move to the new
 * master without waiting for the old one to time out.
 */
function addressOptions(target: SingleTarget): ConnectionOptions {
  if (target.kind === "redis") return { host: target.address.host, port: target.address.port, db: target.db };
  return {
    sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
    name: target.masterName,
    role: "master",
    db: target.db,
    failoverDetector: true,
    sentinelRetryStrategy: reconnectDelay,
    sentinelReconnectStrategy: reconnectDelay,
    ...(target.username === undefined ? {} : { sentinelUsername: target.username }),
    ...(target.password === undefined ? {} : { sentinelPassword: target.password }),
    ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
  };
}

/**
 * One Redis server, given directly or found through Sentinel: PUBLISH (auto-pipelined) on
 * one connection, SUBSCRIBE on another. After a Sentinel failover both reconnect to the
 * promoted replica; its run id differs, so the bus restores as after a restart (resubscribe,
 * registry, heartbeats, history gaps).
 */
export function createSingleLink(target: SingleTarget, options: LinkOptions): RedisLink {
  const { events, node, timeoutMs } = options;
  const common = {
    ...baseOptions(target, timeoutMs, target.kind === "redis" ? target.address.host : undefined),
    ...addressOptions(target),
    enableOfflineQueue: false,
    retryStrategy: reconnectDelay,
  } satisfies ConnectionOptions;

  const cmd = new Redis({ ...common, connectionName: connectionName("pub", node) });
  // The publishes of one event-loop iteration leave in one write, and Redis reads them in one
  // go: the socket is corked at the first and uncorked in the check phase (setImmediate),
  // after every socket read of the iteration ran. That is the batching ioredis's
  // auto-pipelining gives, without its Pipeline machinery per batch and promise per command.
  let corked: Socket | undefined;
  const uncork = (): void => {
    corked?.uncork();
    corked = undefined;
  };
  const corkForTurn = (): void => {
    if (corked === undefined && cmd.stream !== undefined) {
      corked = cmd.stream;
      corked.cork();
      setImmediate(uncork);
    }
  };
  const publish = (channel: string, payload: Buffer): Promise<number> => {
    corkForTurn();
    return cmd.publish(channel, payload);
  };
  const plain = createPlainPublisher(cmd, "publish", timeoutMs);
  const publishPlain = (channel: string, frame: Uint8Array, sentAt: number): Promise<unknown> => {
    corkForTurn();
    return plain.send(channel, frame, sentAt);
  };
  const cmdUp = new UpState((up) => events.commandsChanged(up));
  cmd.on("ready", () => cmdUp.set(true));
  cmd.on("close", () => cmdUp.set(false));
  cmd.on("error", (err: Error) => events.error(err, "commands"));

  let generations = 0;
  const sub = new SubscriberConnection({
    redis: { ...common, connectionName: connectionName("sub", node) },
    sharded: false,
    timeoutMs,
    nextGeneration: () => ++generations,
    events: {
      message: events.message,
      changed: (up) => events.subscriberChanged(shard, up),
      error: (err) => events.error(err, "subscriber"),
    },
  });
  const ours = (s: string) => {
    if (s !== shard) throw new SubscriberGoneError();
    return sub;
  };

  return {
    kind: target.kind,
    commands: redisCommands(cmd, timeoutMs),
    scripts: defineHistoryScripts(cmd, "PUBLISH", timeoutMs, (lua) => cmd.script("LOAD", lua)),
    get commandsUp() {
      return cmdUp.up;
    },
    shards: () => [shard],
    shardOf: () => shard,
    generation: (s) => (s === shard ? sub.generation : undefined),
    subscriberRunId: (s, gen) => (s === shard ? sub.runId(gen) : undefined),
    publish: (channel, payload) => withDeadline(publish(channel, payload), timeoutMs, "PUBLISH"),
    publishPlain,
    subscribe: async (s, gen, channels) => ours(s).subscribe(gen, channels),
    unsubscribe: (s, gen, channel) => (s === shard ? sub.unsubscribe(gen, channel) : Promise.resolve()),
    ping: async (s, gen) => ours(s).ping(gen),
    async runId() {
      return runIdOf(await withDeadline(cmd.info("server"), timeoutMs, "INFO"));
    },
    canaryChannel: (base) => base,
    rebuildSubscriber: () => sub.rebuild(),
    async close() {
      cmd.removeAllListeners();
      cmd.on("error", () => {});
      await Promise.allSettled([sub.close(), cmd.quit()]);
      cmd.disconnect();
      plain.clear();
    },
  };
}
