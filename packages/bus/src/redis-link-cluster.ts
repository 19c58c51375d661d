import { createHash } from "node:crypto";
import { Cluster, type ClusterOptions } from "ioredis";
import {
  baseOptions,
  connectionName,
  type LinkOptions,
  type RedisLink,
  reconnectDelay,
  redisCommands,
  runIdOf,
  UpState,
  withDeadline,
} from "./redis-link.js";
import { defineHistoryScripts } from "./redis-scripts.js";
import { hashSlot } from "./redis-slot.js";
import type { RedisTarget } from "./redis-url.js";

/** After losing a shard's subscriber, wait this long before opening new ones (topology settles). */
const rebuildDelayMs = 200;
/** How often the subscriber side re-reads the slot table, to follow slot moves. */
const slotsRefreshMs = 2000;
/** Enough tries to find a canary name on every shard of any realistic cluster. */
const maxCanaryTries = 100_000;

/**
 * A Redis Cluster with sharded pub/sub: SPUBLISH goes to the shard that owns the channel's
 * slot (auto-pipelined per shard), and ioredis keeps one SSUBSCRIBE connection per master
 * (`shardedSubscribers`). Publish load spreads over the shards; ioredis follows MOVED/ASK
 * redirects and slot moves. The subscriber side is a cluster client of its own so that it
 * can be rebuilt as a whole when a shard's subscriber connection is lost.
 */
export function createClusterLink(target: Extract<RedisTarget, { kind: "redis-cluster" }>, options: LinkOptions): RedisLink {
  const { events, node, timeoutMs } = options;
  const seeds = target.seeds.map((s) => ({ host: s.host, port: s.port }));
  const common = (role: string) =>
    ({
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelay,
      slotsRefreshTimeout: Math.max(1000, timeoutMs),
      redisOptions: { ...baseOptions(target, timeoutMs), connectionName: connectionName(role, node) },
    }) satisfies ClusterOptions;

  const cmd = new Cluster(seeds, { ...common("pub"), enableAutoPipelining: true });
  const cmdUp = new UpState((up) => events.commandsChanged(up));
  cmd.on("ready", () => cmdUp.set(true));
  for (const lost of ["close", "end", "reconnecting"]) cmd.on(lost, () => cmdUp.set(false));
  cmd.on("error", (err: Error) => events.error(err, "commands"));
  cmd.on("node error", (err: Error) => events.error(err, "commands"));

  const subUp = new UpState((up) => events.subscriberChanged(up));
  let closed = false;
  let rebuildTimer: NodeJS.Timeout | undefined;
  /** Subscribed channel -> the master that owned its slot when it was (re)subscribed. */
  const owners = new Map<string, string | undefined>();
  const ownerOf = (conn: Cluster, channel: string) => conn.slots[hashSlot(channel)]?.[0];

  /**
   * After a slot moved, subscribes its channels again at the new owner. ioredis tries the
   * same when the old owner drops them, but can lose the race against the slot-table update
   * (its resubscription then meets MOVED and is given up); a second SSUBSCRIBE of a live
   * subscription is a no-op, so doing it here is safe.
   */
  const followMoves = (conn: Cluster) => {
    if (conn !== sub || !subUp.up) return;
    const moved = [...owners].filter(([channel, owner]) => ownerOf(conn, channel) !== owner).map(([channel]) => channel);
    if (moved.length === 0) return;
    for (const channel of moved) owners.set(channel, ownerOf(conn, channel));
    Promise.all(moved.map((channel) => conn.ssubscribe(channel))).then(
      () => {
        if (conn === sub) events.resubscribed?.(moved);
      },
      (err: Error) => {
        events.error(err, "subscriber");
        if (conn === sub) scheduleRebuild();
      },
    );
  };

  const openSubscriber = (): Cluster => {
    const sub = new Cluster(seeds, { ...common("sub"), shardedSubscribers: true, slotsRefreshInterval: slotsRefreshMs });
    sub.on("smessageBuffer", events.message);
    sub.on("refresh", () => followMoves(sub));
    sub.on("ready", () => subUp.set(true));
    // Any lost shard subscriber: start over with fresh connections, so the bus resubscribes
    // everything and knows when it is done (ioredis's own resubscription is not awaitable).
    for (const lost of ["close", "end", "-node", "-subscriber"]) {
      sub.on(lost, () => {
        if (subUp.up) scheduleRebuild();
      });
    }
    sub.on("error", (err: Error) => events.error(err, "subscriber"));
    sub.on("node error", (err: Error) => events.error(err, "subscriber"));
    return sub;
  };
  let sub = openSubscriber();

  const dropSubscriber = () => {
    owners.clear();
    const old = sub;
    old.removeAllListeners();
    old.on("error", () => {});
    old.disconnect();
    subUp.set(false);
  };
  const scheduleRebuild = () => {
    dropSubscriber();
    if (rebuildTimer || closed) return;
    rebuildTimer = setTimeout(() => {
      rebuildTimer = undefined;
      if (!closed) sub = openSubscriber();
    }, rebuildDelayMs);
    rebuildTimer.unref();
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
    get subscriberUp() {
      return subUp.up;
    },
    publish: (channel, payload) => withDeadline(cmd.spublish(channel, payload) as Promise<number>, timeoutMs, "SPUBLISH"),
    async subscribe(channels) {
      const conn = sub;
      // SSUBSCRIBE takes channels of one slot only: one command per channel.
      await withDeadline(Promise.all(channels.map((c) => conn.ssubscribe(c))), timeoutMs, "SSUBSCRIBE");
      if (conn === sub) for (const c of channels) owners.set(c, ownerOf(conn, c));
    },
    async unsubscribe(channel) {
      owners.delete(channel);
      await withDeadline(sub.sunsubscribe(channel), timeoutMs, "SUNSUBSCRIBE");
    },
    async epoch() {
      const masters = cmd.nodes("master");
      if (masters.length === 0) throw new Error("no cluster masters known");
      const infos = await withDeadline(Promise.all(masters.map((m) => m.info("server"))), timeoutMs, "INFO");
      const runIds = infos.map(runIdOf);
      return createHash("sha1").update(runIds.sort().join(",")).digest("hex");
    },
    async canaryChannels(base) {
      const slots = await withDeadline(cmd.cluster("SLOTS"), timeoutMs, "CLUSTER SLOTS");
      const ownerOf = (slot: number) => {
        for (const [from, to, master] of slots) if (slot >= from && slot <= to && master) return `${master[0]}:${master[1]}`;
        return undefined;
      };
      const masters = new Set(slots.flatMap(([, , m]) => (m ? [`${m[0]}:${m[1]}`] : [])));
      const chosen = new Map<string, string>();
      for (let i = 0; chosen.size < masters.size && i < maxCanaryTries; i++) {
        const name = `${base}:${i}`;
        const owner = ownerOf(hashSlot(name));
        if (owner !== undefined && !chosen.has(owner)) chosen.set(owner, name);
      }
      return [...chosen.values()];
    },
    rebuildSubscriber() {
      scheduleRebuild();
    },
    async close() {
      closed = true;
      if (rebuildTimer) clearTimeout(rebuildTimer);
      dropSubscriber();
      cmd.removeAllListeners();
      cmd.on("error", () => {});
      await cmd.quit().catch(() => {});
      cmd.disconnect();
    },
  };
}
