import {
  type AudienceEventName,
  type AudienceObserver,
  type Bus,
  type BusLogger,
  type BusObserver,
  type ChannelRegistry,
  type ClusterAudience,
  createMemoryAudience,
  createMemoryBus,
  createMemoryDirectory,
  createMemoryEventQueue,
  createMemoryRegistry,
  createRedisAudience,
  createRedisBus,
  createRedisDirectory,
  createRedisEventQueue,
  createRedisRegistry,
  type EventQueue,
  type NodeDirectory,
  parseRedisUrl,
  type RedisTarget,
  RedisUrlError,
  type RegistryObserver,
} from "@rocket/bus";
import { ConfigError } from "./config.js";

export interface BusFactoryOptions {
  /** Redis URL from the config; undefined for the in-process bus. */
  readonly redisUrl: string | undefined;
  readonly observer: BusObserver & RegistryObserver & AudienceObserver;
  readonly logger: BusLogger & { child(bindings: object): BusLogger };
  readonly publishTimeoutMs: number;
  /** This node's name, for the canary channel and heartbeats. */
  readonly node: string;
  /** A channel without subscriber or publish for this long is forgotten; 0 (the default): never. */
  readonly channelTtlSeconds?: number | undefined;
  /** The audience events recorded for webhooks; empty (the default): none. */
  readonly events?: ReadonlySet<AudienceEventName> | undefined;
}

/** The bus and what shares its transport: the channel registry, the cluster's audience, its webhook queue, the node list. */
export interface BusAndRegistry {
  readonly bus: Bus;
  readonly registry: ChannelRegistry;
  readonly audience: ClusterAudience;
  /** The webhook events' queue, when any event is recorded. */
  readonly queue: EventQueue | undefined;
  readonly directory: NodeDirectory;
}

/**
 * Chooses the bus and its registry: in-process without a Redis URL, Redis (single or
 * Cluster) with one. The URL is parsed here, once; a malformed one is a {@link ConfigError}
 * naming the setting (never echoing a password).
 */
export function createBus(options: BusFactoryOptions): BusAndRegistry {
  const { redisUrl, observer, logger, publishTimeoutMs, node } = options;
  const ttlMs = (options.channelTtlSeconds ?? 0) * 1000;
  const events = options.events ?? new Set();
  if (redisUrl === undefined) {
    const bus = createMemoryBus({ observer, logger: logger.child({ bus: "memory" }) });
    const queue = events.size > 0 ? createMemoryEventQueue() : undefined;
    return {
      bus,
      registry: createMemoryRegistry({ observer, ttlMs }),
      audience: createMemoryAudience(bus, { events, sink: queue }),
      queue,
      directory: createMemoryDirectory(node),
    };
  }
  const target = redisTarget(redisUrl);
  const busLogger = logger.child({ bus: target.kind });
  const bus = createRedisBus({ target, observer, logger: busLogger, publishTimeoutMs, node });
  return {
    bus,
    registry: createRedisRegistry(bus, { observer, ttlMs }),
    audience: createRedisAudience(bus, { node, events, observer, logger: busLogger }),
    queue: events.size > 0 ? createRedisEventQueue(bus, { node }) : undefined,
    directory: createRedisDirectory(bus, node),
  };
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
