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
  };
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
