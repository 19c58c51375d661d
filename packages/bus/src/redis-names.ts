import { hashSlot, tagForSlot } from "./redis-slot.js";

/** The prefix every Redis key and channel of Rocket starts with. */
export const defaultRedisPrefix = "rocket:";

/**
 * The names Rocket uses in Redis, all under one prefix so that Rocket shares a Redis with
 * other programs safely. Topics are `<hubPath>:<channel>`, so every message channel and
 * registry key names its hub. No `{…}` hash tags on channels without history: in a Redis
 * Cluster each channel hashes to its own slot, which spreads publish load over the shards.
 * A topic with history has its three names tagged with `{<topic>}` (stream, meta hash and
 * pub/sub channel), so that one script can touch all three on one shard.
 */
export interface RedisNames {
  readonly prefix: string;
  /** Pub/sub channel of a topic: `rocket:msg:<hubPath>:<channel>`. */
  channel(topic: string): string;
  /** Pub/sub channel of a topic with history: `rocket:msg:{<hubPath>:<channel>}`. */
  historyChannel(topic: string): string;
  /** Stream of a topic's kept messages: `rocket:history:{<hubPath>:<channel>}`. */
  stream(topic: string): string;
  /** Hash of a topic's history position (`offset`, `epoch`): `rocket:meta:{<hubPath>:<channel>}`. */
  meta(topic: string): string;
  /** Set of the channels that exist in a hub: `rocket:channels:<hubPath>`. */
  registry(namespace: string): string;
  /**
   * Sorted set of the same channels by last activity (wall-clock ms):
   * `{rocket:channels:<hubPath>}:active`. The hash tag is the set's whole name, so both keys
   * live in one slot of a Redis Cluster and one script can expire from both.
   */
  registryActivity(namespace: string): string;
  /** A node's liveness canary channel: `rocket:canary:<node>` (plus `:<n>` per cluster shard). */
  canary(node: string): string;
  /** A node's heartbeat key (value: the Redis run id it last subscribed on): `rocket:node:<node>`. */
  heartbeat(node: string): string;
  /** Set of the nodes that keep a heartbeat: `rocket:nodes`. */
  readonly nodes: string;
  /**
   * Hash of a topic's users, cluster-wide (user -> connections): `rocket:presence-users:{<topic>}`
   * when the topic keeps history. It lives in the slot of the topic's pub/sub channel, so that
   * one script updates it and publishes `join`/`leave` there: for a topic without history
   * `{rocket:msg:<topic>}:presence-users` (or, for the rare name whose braces forbid that, a
   * tag found for the slot).
   */
  presenceUsers(topic: string, history: boolean): string;
  /** Hash of each node's part of a topic's audience (`m\n<member>\n<user>`, `c\n<member>`, `n`), beside {@link presenceUsers}. */
  presenceMembers(topic: string, history: boolean): string;
  /** Set of the audience members (one per node and life): `rocket:presence:members`. */
  readonly presenceMemberList: string;
  /** A member's lease, kept alive by its node: `rocket:presence:lease:<member>`. */
  presenceLease(member: string): string;
  /** Set of the topics a member has a part in: `rocket:presence:topics:<member>`. */
  presenceTopics(member: string): string;
  /** Lock of the node removing what a gone member left: `rocket:presence:reaper:<member>`. */
  presenceReaper(member: string): string;
  /** Stream of audience events for webhooks (consumer group `rocket`): `rocket:webhooks`. */
  readonly webhooks: string;
}

export function redisNames(prefix = defaultRedisPrefix): RedisNames {
  return {
    prefix,
    channel: (topic) => `${prefix}msg:${topic}`,
    historyChannel: (topic) => `${prefix}msg:{${topic}}`,
    stream: (topic) => `${prefix}history:{${topic}}`,
    meta: (topic) => `${prefix}meta:{${topic}}`,
    registry: (namespace) => `${prefix}channels:${namespace}`,
    registryActivity: (namespace) => `{${prefix}channels:${namespace}}:active`,
    canary: (node) => `${prefix}canary:${node}`,
    heartbeat: (node) => `${prefix}node:${node}`,
    nodes: `${prefix}nodes`,
    presenceUsers: (topic, history) => besideChannel(prefix, topic, history, "presence-users"),
    presenceMembers: (topic, history) => besideChannel(prefix, topic, history, "presence-nodes"),
    presenceMemberList: `${prefix}presence:members`,
    presenceLease: (member) => `${prefix}presence:lease:${member}`,
    presenceTopics: (member) => `${prefix}presence:topics:${member}`,
    presenceReaper: (member) => `${prefix}presence:reaper:${member}`,
    webhooks: `${prefix}webhooks`,
  };
}

/** A key named for `topic` in the Cluster slot of the topic's pub/sub channel (see {@link RedisNames.presenceUsers}). */
function besideChannel(prefix: string, topic: string, history: boolean, what: string): string {
  const channel = history ? `${prefix}msg:{${topic}}` : `${prefix}msg:${topic}`;
  const slot = hashSlot(channel);
  for (const key of [`${prefix}${what}:{${topic}}`, `{${channel}}:${what}`]) if (hashSlot(key) === slot) return key;
  return `${prefix}${what}:{${tagForSlot(slot)}}:${topic}`;
}

const ascii = /^[\x00-\x7f]*$/;

/**
 * The lookup key of a channel as it arrives from Redis (bytes): its UTF-8 bytes read as
 * latin1, so that `Buffer#toString("latin1")` on the received name finds it without a UTF-8
 * decode. An ASCII name is its own key (the same string, not a second copy).
 */
export function channelKey(channel: string): string {
  return ascii.test(channel) ? channel : Buffer.from(channel, "utf8").toString("latin1");
}
