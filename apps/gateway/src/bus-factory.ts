import {
  type Bus,
  type BusLogger,
  type BusObserver,
  type ChannelRegistry,
  createMemoryBus,
  createMemoryRegistry,
  createRedisBus,
  createRedisRegistry,
  parseRedisUrl,
  type RedisTarget,
  RedisUrlError,
  type RegistryObserver,
} from "@rocket/bus";
import { ConfigError } from "./config.js";

export interface BusFactoryOptions {
  /** Redis URL from the config; undefined for the in-process bus. */
  readonly redisUrl: string | undefined;
  readonly observer: BusObserver & RegistryObserver;
  readonly logger: BusLogger & { child(bindings: object): BusLogger };
  readonly publishTimeoutMs: number;
  /** This node's name, for the canary channel and heartbeats. */
  readonly node: string;
  /** A channel without subscriber or publish for this long is forgotten; 0 (the default): never. */
  readonly channelTtlSeconds?: number | undefined;
}

/** The bus and the channel registry on the same transport. */
export interface BusAndRegistry {
  readonly bus: Bus;
  readonly registry: ChannelRegistry;
}

/**
 * Chooses the bus and its registry: in-process without a Redis URL, Redis (single or
 * Cluster) with one. The URL is parsed here, once; a malformed one is a {@link ConfigError}
 * naming the setting (never echoing a password).
 */
export function createBus(options: BusFactoryOptions): BusAndRegistry {
  const { redisUrl, observer, logger, publishTimeoutMs, node } = options;
  const ttlMs = (options.channelTtlSeconds ?? 0) * 1000;
  if (redisUrl === undefined) {
    return {
      bus: createMemoryBus({ observer, logger: logger.child({ bus: "memory" }) }),
      registry: createMemoryRegistry({ observer, ttlMs }),
    };
  }
  const target = redisTarget(redisUrl);
  const bus = createRedisBus({ target, observer, logger: logger.child({ bus: target.kind }), publishTimeoutMs, node });
  return { bus, registry: createRedisRegistry(bus, { observer, ttlMs }) };
}

function redisTarget(url: string): RedisTarget {
  try {
    return parseRedisUrl(url);
  } catch (err) {
    if (err instanceof RedisUrlError) {
      throw new ConfigError(`RedisUrl (--redis, ROCKET_REDIS_URL): ${err.message}`, { cause: err });
    }
    throw err;
  }
}
