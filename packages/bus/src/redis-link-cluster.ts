import { Cluster, type ClusterOptions } from "ioredis";
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
import { clusterSlots, hashSlot } from "./redis-slot.js";
import { SubscriberConnection, SubscriberGoneError } from "./redis-subscriber.js";
import type { RedisTarget } from "./redis-url.js";

/** How often the slot table is read again, so that failovers and slot moves are followed. */
const slotsRefreshMs = 1000;
/** Enough tries to find a canary name on any master of any realistic cluster. */
const maxCanaryTries = 100_000;

/**
 * A Redis Cluster with sharded pub/sub. Commands go through an ioredis cluster client:
 * SPUBLISH to the master that owns the channel's slot (auto-pipelined per master), MOVED and
 * ASK followed. Subscriptions do not: each master has a plain subscriber connection of its
 * own (SSUBSCRIBE), opened and closed as the slot table, read every second and after any
 * loss, names masters. So a master that fails costs only its own channels their
 * subscriptions; the others' connections, and the publishes on them, never notice. A shard
 * is a master, named `host:port` as the slot table gives it.
 */
export function createClusterLink(target: Extract<RedisTarget, { kind: "redis-cluster" }>, options: LinkOptions): RedisLink {
  const { events, node, timeoutMs } = options;
  const seeds = target.seeds.map((s) => ({ host: s.host, port: s.port }));
  const cmd = new Cluster(seeds, {
    enableOfflineQueue: false,
    clusterRetryStrategy: reconnectDelay,
    slotsRefreshTimeout: Math.max(1000, timeoutMs),
    slotsRefreshInterval: slotsRefreshMs,
    // While a failed master is not replaced yet every master answers key commands CLUSTERDOWN
    // (SPUBLISH still works). ioredis would retry such a command every 100 ms, and an
    // auto-pipeline it retries holds up every later pipeline to that master: healthy shards'
    // publishes would time out behind a heartbeat GET. Failing at once keeps them flowing.
    retryDelayOnClusterDown: 0,
    enableAutoPipelining: true,
    redisOptions: { ...baseOptions(target, timeoutMs, seeds[0]?.host), connectionName: connectionName("pub", node) },
  } satisfies ClusterOptions);
  const cmdUp = new UpState((up) => events.commandsChanged(up));
  cmd.on("ready", () => cmdUp.set(true));
  for (const lost of ["close", "end", "reconnecting"]) cmd.on(lost, () => cmdUp.set(false));
  cmd.on("error", (err: Error) => events.error(err, "commands"));
  cmd.on("node error", (err: Error) => events.error(err, "commands"));

  let closed = false;
  let generations = 0;
  const subscribers = new Map<string, SubscriberConnection>();
  /** The slot table's owners, range by range, as last followed: a change means channels moved. */
  let layout = "";
  const ownerOf = (channel: string): string | undefined => cmd.slots[hashSlot(channel)]?.[0];
  const refresh = () => {
    if (!closed) cmd.refreshSlotsCache();
  };

  const open = (master: string) => {
    const colon = master.lastIndexOf(":");
    const host = master.slice(0, colon);
    return new SubscriberConnection({
      redis: {
        ...baseOptions(target, timeoutMs, host),
        host,
        port: Number(master.slice(colon + 1)),
        enableOfflineQueue: false,
        retryStrategy: reconnectDelay,
        connectionName: connectionName("sub", node),
      },
      sharded: true,
      timeoutMs,
      nextGeneration: () => ++generations,
      events: {
        message: events.message,
        changed: (up) => {
          events.subscriberChanged(master, up);
          // A lost master may have been replaced: read the slot table now rather than in a second.
          if (!up) refresh();
        },
        error: (err) => events.error(err, `subscriber ${master}`),
        moved: refresh,
      },
    });
  };

  /** Opens a subscriber connection for every master the slot table names, closes the others'. */
  const follow = () => {
    if (closed) return;
    const masters = new Set<string>();
    const ranges: string[] = [];
    let previous: string | undefined;
    for (let slot = 0; slot < clusterSlots; slot++) {
      const owner = cmd.slots[slot]?.[0];
      if (owner !== undefined) masters.add(owner);
      if (owner !== previous) ranges.push(`${slot}=${owner ?? "-"}`);
      previous = owner;
    }
    let changed = false;
    for (const master of masters) {
      if (subscribers.has(master)) continue;
      subscribers.set(master, open(master));
      changed = true;
    }
    for (const [master, sub] of subscribers) {
      if (masters.has(master)) continue;
      subscribers.delete(master);
      void sub.close();
      changed = true;
    }
    const now = ranges.join(",");
    if (now !== layout) changed = true;
    layout = now;
    if (changed) events.topologyChanged();
  };
  cmd.on("ready", follow);
  cmd.on("refresh", follow);

  const plain = createPlainPublisher(cmd, "spublish", timeoutMs);
  const subscriberOf = (shard: string) => {
    const sub = subscribers.get(shard);
    if (sub === undefined) throw new SubscriberGoneError();
    return sub;
  };

  return {
    kind: "redis-cluster",
    commands: redisCommands(cmd, timeoutMs),
    scripts: defineHistoryScripts(cmd, "SPUBLISH", timeoutMs, (lua) =>
      Promise.all(cmd.nodes("master").map((master) => master.script("LOAD", lua))),
    ),
    get commandsUp() {
      return cmdUp.up;
    },
    shards: () => [...subscribers.keys()],
    shardOf: ownerOf,
    generation: (shard) => subscribers.get(shard)?.generation,
    subscriberRunId: (shard, gen) => subscribers.get(shard)?.runId(gen),
    publish: (channel, payload) => withDeadline(cmd.spublish(channel, payload) as Promise<number>, timeoutMs, "SPUBLISH"),
    publishPlain: plain.send,
    subscribe: async (shard, gen, channels) => subscriberOf(shard).subscribe(gen, channels),
    unsubscribe: (shard, gen, channel) => subscribers.get(shard)?.unsubscribe(gen, channel) ?? Promise.resolve(),
    ping: async (shard, gen) => subscriberOf(shard).ping(gen),
    async runId(shard) {
      const master = cmd.nodes("master").find((n) => `${n.options.host}:${n.options.port}` === shard);
      if (master === undefined) throw new Error(`no command connection to ${shard}`);
      return runIdOf(await withDeadline(master.info("server"), timeoutMs, "INFO"));
    },
    canaryChannel(base, shard) {
      for (let i = 0; i < maxCanaryTries; i++) {
        const name = `${base}:${i}`;
        if (ownerOf(name) === shard) return name;
      }
      throw new Error(`no canary channel name found for ${shard}`);
    },
    rebuildSubscriber(shard) {
      subscribers.get(shard)?.rebuild();
    },
    async close() {
      closed = true;
      const subs = [...subscribers.values()];
      subscribers.clear();
      cmd.removeAllListeners();
      cmd.on("error", () => {});
      await Promise.allSettled([...subs.map((s) => s.close()), cmd.quit()]);
      cmd.disconnect();
      plain.clear();
    },
  };
}
