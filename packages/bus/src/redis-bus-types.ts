import type { Bus, BusOptions } from "./bus.js";
import type { RedisBusState } from "./redis-bus-state.js";
import type { RedisCommands } from "./redis-link.js";
import type { RedisNames } from "./redis-names.js";
import type { RedisTarget } from "./redis-url.js";

/** What `createRedisBus` takes beyond every bus's options. */
export interface RedisBusOptions extends BusOptions {
  /** Where Redis is: one server, a Cluster's seed nodes, or Sentinels (see `parseRedisUrl`). */
  readonly target: RedisTarget;
  /** Longest wait for Redis to confirm a publish or subscribe before "unavailable". */
  readonly publishTimeoutMs: number;
  /** This node's name, unique in the cluster (e.g. `host:pid`): canary channel, heartbeat key. */
  readonly node: string;
  /** Prefix of every Redis key and channel. Default "rocket:". */
  readonly prefix?: string | undefined;
  /** How often the pub/sub canary runs. Default 1000. */
  readonly canaryIntervalMs?: number | undefined;
  /** How long a canary may take to come back. Default 1000. */
  readonly canaryTimeoutMs?: number | undefined;
  /** How often a node writes its heartbeat and looks at its peers; keys live 3 times this. Default 1000. */
  readonly heartbeatIntervalMs?: number | undefined;
  /** After Redis returns, the longest wait for peers to resubscribe before acknowledging anyway. Default 2000. */
  readonly peerGraceMs?: number | undefined;
  /** A topic with history and no message for this long is read from the stream, for losses no event shows. Default 5000. */
  readonly quietCheckMs?: number | undefined;
}

/** Something kept in Redis beside the pub/sub, on the bus's connections (the channel registry). */
export interface RedisCompanion {
  /** Names its restore step in logs. */
  readonly name: string;
  /** Writes back what a restarted Redis lost; runs on every restore, before the bus turns ready. */
  restore(redis: RedisAccess): Promise<void>;
}

/** What a companion may use of the bus it is attached to. */
export interface RedisAccess {
  readonly commands: RedisCommands;
  readonly names: RedisNames;
  /** Whether Redis can be asked now (the bus is ready on every shard); companions fail fast otherwise. */
  isReady(): boolean;
}

/** The Redis bus: a {@link Bus}, plus a place for the companions that share its connections. */
export interface RedisBus extends Bus {
  readonly kind: "redis" | "redis-cluster" | "redis-sentinel";
  readonly state: RedisBusState;
  /** Attaches a companion: it shares the command connection and takes part in every restore. */
  attach(companion: RedisCompanion): RedisAccess;
}
