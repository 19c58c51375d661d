import { isIP } from "node:net";
import type { Cluster, CommonRedisOptions, Redis } from "ioredis";
import type { RedisTarget } from "./redis-url.js";

/** What the links report to the bus. Up/down calls come on transitions only. */
export interface LinkEvents {
  /** A pub/sub message: channel name and payload, as bytes. */
  message(channel: Buffer, payload: Buffer): void;
  /** The command connection (publishes, registry, heartbeats) became usable or stopped being so. */
  commandsChanged(up: boolean): void;
  /**
   * The subscriber connection(s) became usable or were lost. "Up" is always a fresh
   * connection with no subscriptions: the bus subscribes again itself, so that it knows
   * when every subscription is back.
   */
  subscriberChanged(up: boolean): void;
  /** An error worth a log line; `connection` says which one. */
  error(err: Error, connection: string): void;
}

/** The slice of Redis commands the registry and the heartbeats use. */
export interface RedisCommands {
  sadd(key: string, members: readonly string[]): Promise<number>;
  sismember(key: string, member: string): Promise<number>;
  smembers(key: string): Promise<string[]>;
  srem(key: string, member: string): Promise<number>;
  get(key: string): Promise<string | null>;
  setWithTtl(key: string, value: string, ttlMs: number): Promise<unknown>;
  del(key: string): Promise<number>;
}

/**
 * Rocket's connections to Redis: one for commands (publishes auto-pipelined, registry,
 * heartbeats) and one subscriber connection (per shard in a cluster). Two implementations:
 * one server (PUBLISH/SUBSCRIBE) and Redis Cluster (SPUBLISH/SSUBSCRIBE).
 */
export interface RedisLink {
  readonly kind: "redis" | "redis-cluster";
  readonly commands: RedisCommands;
  /** Publishes; resolves with the number of receiving connections (on that shard). */
  publish(channel: string, payload: Buffer): Promise<number>;
  /** Subscribes the current subscriber connection(s); resolves once Redis confirmed. */
  subscribe(channels: readonly string[]): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /**
   * Identifies the Redis data set now: the run id of the server (a hash of the masters' run
   * ids in a cluster). It changes when Redis restarts, that is when subscriptions and keys
   * may be gone.
   */
  epoch(): Promise<string>;
  /** Canary channels for `base`: one per shard, so that every subscriber connection is checked. */
  canaryChannels(base: string): Promise<string[]>;
  /** Drops the subscriber connection(s) and opens new ones (reported down, then up). */
  rebuildSubscriber(): void;
  close(): Promise<void>;
}

export interface LinkOptions {
  readonly timeoutMs: number;
  /** Names the connections in `CLIENT LIST`. */
  readonly node: string;
  readonly events: LinkEvents;
}

/**
 * ioredis options every Rocket connection shares. ioredis's defaults are wrong for a broker:
 * its offline queue holds commands while disconnected and sends them to a restarted Redis
 * before any node has resubscribed, so a publish would be acknowledged ("0 receivers") and
 * never delivered; and it has no command timeout. So: no offline queue, a command timeout,
 * no resending of commands that were in flight when a connection broke (their outcome is
 * unknown and was reported so), and quick reconnects so that service resumes soon after
 * Redis does.
 */
export function baseOptions(target: RedisTarget, timeoutMs: number): CommonRedisOptions {
  const host = target.kind === "redis" ? target.address.host : target.seeds[0]!.host;
  return {
    username: target.username,
    password: target.password,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1000),
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    ...(target.tls ? { tls: isIP(host) === 0 ? { servername: host } : {} } : {}),
  } as CommonRedisOptions;
}

/** Reconnect delay: quick at first, at most 500 ms, so a returning Redis is noticed soon. */
export function reconnectDelay(attempt: number): number {
  return Math.min(50 * attempt, 500);
}

/** A CLIENT SETNAME-safe connection name. */
export function connectionName(role: string, node: string): string {
  return `rocket-${role}:${node}`.replace(/[^\x21-\x7e]/g, "_");
}

/** The run_id line of `INFO server`. */
export function runIdOf(info: string): string {
  const match = /^run_id:(\w+)/m.exec(info);
  if (!match) throw new Error("INFO server without run_id");
  return match[1]!;
}

/** The registry and heartbeat commands, on a single Redis or a Cluster alike. */
export function redisCommands(cmd: Redis | Cluster): RedisCommands {
  return {
    sadd: (key, members) => cmd.sadd(key, ...members),
    sismember: (key, member) => cmd.sismember(key, member),
    smembers: (key) => cmd.smembers(key),
    srem: (key, member) => cmd.srem(key, member),
    get: (key) => cmd.get(key),
    setWithTtl: (key, value, ttlMs) => cmd.set(key, value, "PX", ttlMs),
    del: (key) => cmd.del(key),
  };
}
