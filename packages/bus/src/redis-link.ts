import { isIP } from "node:net";
import type { Cluster, Redis, RedisOptions } from "ioredis";
import { withDeadline } from "./redis-deadline.js";
import type { HistoryScripts } from "./redis-scripts.js";
import type { RedisTarget } from "./redis-url.js";

/** What the links report to the bus. Up/down calls come on transitions only. */
export interface LinkEvents {
  /** A pub/sub message: channel name and payload, as bytes. */
  message(channel: Buffer, payload: Buffer): void;
  /** The command connection (publishes, registry, heartbeats) became usable or stopped being so. */
  commandsChanged(up: boolean): void;
  /**
   * A shard's subscriber connection became usable or was lost. "Up" is always a fresh
   * connection with no subscriptions and a generation of its own: the bus subscribes again
   * itself, so that it knows when every subscription is back.
   */
  subscriberChanged(shard: string, up: boolean): void;
  /**
   * The shards changed (a Redis Cluster's slot table): shards may have come or gone, and
   * channels may have another owner, at which they must be subscribed again.
   */
  topologyChanged(): void;
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
  /** ZADD with one score for every member. */
  zaddAll(key: string, score: number, members: readonly string[]): Promise<number>;
  zscore(key: string, member: string): Promise<string | null>;
  /** EVAL of a script with its keys and arguments. */
  evalScript(script: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
  /** Any other command (streams, EVALSHA, SET with options), routed by its keys on a Cluster. */
  call(command: string, args: readonly (string | number)[]): Promise<unknown>;
}

/**
 * Rocket's connections to Redis: one for commands (publishes auto-pipelined, registry,
 * heartbeats) and one subscriber connection per shard. A shard is where a channel lives: the
 * one server (found directly, or through Sentinel), or each master of a Redis Cluster. Each
 * shard's subscriber connection is lost and rebuilt on its own, with a generation number of
 * its own (unique across shards), so that a fault on one master leaves the others' channels
 * alone. Implementations: one server (PUBLISH/SUBSCRIBE, also behind Sentinel) and Redis
 * Cluster (SPUBLISH/SSUBSCRIBE).
 *
 * Every command rejects with {@link RedisTimeoutError} when Redis did not answer within the
 * link's timeout, and with the client's own error otherwise (connection closed, refused).
 */
export interface RedisLink {
  readonly kind: "redis" | "redis-cluster" | "redis-sentinel";
  readonly commands: RedisCommands;
  /** The history scripts, on the command connection. */
  readonly scripts: HistoryScripts;
  /** Whether the command connection is usable now (as last reported by `commandsChanged`). */
  readonly commandsUp: boolean;
  /** The shards known now. */
  shards(): readonly string[];
  /** The shard that owns `channel` now; undefined while no shard is known for it. */
  shardOf(channel: string): string | undefined;
  /** The generation of `shard`'s subscriber connection while it is up; undefined otherwise. */
  generation(shard: string): number | undefined;
  /**
   * The run id of the server that `shard`'s subscriber connection of generation `gen` reached,
   * read when it connected; undefined when that connection is gone.
   */
  subscriberRunId(shard: string, gen: number): string | undefined;
  /** Publishes; resolves with the number of receiving connections (on that shard). */
  publish(channel: string, payload: Buffer): Promise<number>;
  /**
   * Publishes `frame` in a plain envelope (redis-envelope.ts) stamped with the moment
   * `sentAt` (a `performance.now()`): the hot path, see redis-publish.ts. Rejects with a
   * RedisTimeoutError once the link's deadline after `sentAt` passed.
   */
  publishPlain(channel: string, frame: Uint8Array, sentAt: number): Promise<unknown>;
  /**
   * Subscribes `channels` (all of `shard`) on `shard`'s subscriber connection of generation
   * `gen`; resolves once Redis confirmed, rejects when that connection is gone.
   */
  subscribe(shard: string, gen: number, channels: readonly string[]): Promise<void>;
  /**
   * Unsubscribes on `shard`'s subscriber connection of generation `gen`. Resolves once Redis
   * answered or that connection is gone (then nothing is subscribed there any more), without
   * a deadline: until then a message of the channel may still arrive. Never rejects.
   */
  unsubscribe(shard: string, gen: number, channel: string): Promise<void>;
  /**
   * A round trip (PING) on `shard`'s subscriber connection of generation `gen`, sent after
   * this call: resolves once Redis answered it, so that the subscriptions confirmed on that
   * connection were in place after the call. Rejects when it did not answer in time.
   */
  ping(shard: string, gen: number): Promise<void>;
  /** The run id of `shard`'s server, asked on the command connection. */
  runId(shard: string): Promise<string>;
  /** A canary channel for `base` that `shard` owns. */
  canaryChannel(base: string, shard: string): string;
  /** Drops `shard`'s subscriber connection and opens a new one (reported down, then up). */
  rebuildSubscriber(shard: string): void;
  close(): Promise<void>;
}

export interface LinkOptions {
  readonly timeoutMs: number;
  /** Names the connections in `CLIENT LIST`. */
  readonly node: string;
  readonly events: LinkEvents;
}

/**
 * ioredis's own command timeout stays on as a backstop for the commands it sends by itself
 * (the ready check after connecting), set past the link's so that the link's fires first.
 */
const backstopMarginMs = 250;

/**
 * ioredis options every Rocket connection shares. ioredis's defaults are wrong for a broker:
 * its offline queue holds commands while disconnected and sends them to a restarted Redis
 * before any node has resubscribed, so a publish would be acknowledged ("0 receivers") and
 * never delivered; and it has no command timeout. So: no offline queue, a command timeout,
 * no resending of commands that were in flight when a connection broke (their outcome is
 * unknown and was reported so), and quick reconnects so that service resumes soon after
 * Redis does.
 */
export function baseOptions(target: RedisTarget, timeoutMs: number, host: string | undefined) {
  return {
    commandTimeout: timeoutMs + backstopMarginMs,
    connectTimeout: Math.max(timeoutMs, 1000),
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.tls ? { tls: host !== undefined && isIP(host) === 0 ? { servername: host } : {} } : {}),
  } satisfies RedisOptions;
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
  const runId = /^run_id:(\w+)/m.exec(info)?.[1];
  if (runId === undefined) throw new Error("INFO server without run_id");
  return runId;
}

/** The registry and heartbeat commands, on a single Redis or a Cluster alike, each with the link's deadline. */
export function redisCommands(cmd: Redis | Cluster, timeoutMs: number): RedisCommands {
  const timed = <T>(pending: Promise<T>, what: string) => withDeadline(pending, timeoutMs, what);
  return {
    sadd: (key, members) => timed(cmd.sadd(key, ...members), "SADD"),
    sismember: (key, member) => timed(cmd.sismember(key, member), "SISMEMBER"),
    smembers: (key) => timed(cmd.smembers(key), "SMEMBERS"),
    srem: (key, member) => timed(cmd.srem(key, member), "SREM"),
    get: (key) => timed(cmd.get(key), "GET"),
    setWithTtl: (key, value, ttlMs) => timed(cmd.set(key, value, "PX", ttlMs), "SET"),
    del: (key) => timed(cmd.del(key), "DEL"),
    zaddAll: (key, score, members) => timed(cmd.zadd(key, ...members.flatMap((m) => [score, m])), "ZADD"),
    zscore: (key, member) => timed(cmd.zscore(key, member), "ZSCORE"),
    evalScript: (script, keys, args) => timed(cmd.eval(script, keys.length, ...keys, ...args), "EVAL"),
    call: (command, args) => timed(cmd.call(command, ...args), command),
  };
}

/**
 * The up/down state of one connection role as the link reports it: `set` calls `report`
 * on transitions only.
 */
export class UpState {
  private value = false;
  constructor(private readonly report: (up: boolean) => void) {}
  get up(): boolean {
    return this.value;
  }
  set(up: boolean): void {
    if (this.value === up) return;
    this.value = up;
    this.report(up);
  }
}
