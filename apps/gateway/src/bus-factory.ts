import {
  type Bus,
  type BusLogger,
  type BusObserver,
  createMemoryBus,
  createRedisBus,
  type DeliverFn,
  parseRedisUrl,
  RedisUrlError,
} from "@rocket/bus";
import { ConfigError } from "./config.js";

export interface BusFactoryOptions {
  /** Redis URL from the config; undefined for the in-process bus. */
  readonly redisUrl: string | undefined;
  readonly deliver: DeliverFn;
  readonly observer: BusObserver;
  readonly logger: BusLogger & { child(bindings: object): BusLogger };
  readonly publishTimeoutMs: number;
  /** This node's name, for the canary channel and heartbeats. */
  readonly node: string;
}

/**
 * Chooses the bus: in-process without a Redis URL, Redis (single or Cluster) with one.
 * A malformed URL is a {@link ConfigError} naming the setting (never echoing a password).
 */
export function createBus(options: BusFactoryOptions): Bus {
  const { redisUrl, deliver, observer, logger, publishTimeoutMs, node } = options;
  if (redisUrl === undefined) return createMemoryBus({ deliver, observer, logger: logger.child({ bus: "memory" }) });
  let kind: string;
  try {
    kind = parseRedisUrl(redisUrl).kind;
  } catch (err) {
    if (err instanceof RedisUrlError) {
      throw new ConfigError(`RedisUrl (--redis, ROCKET_REDIS_URL): ${err.message}`, { cause: err });
    }
    throw err;
  }
  return createRedisBus({
    url: redisUrl,
    deliver,
    observer,
    logger: logger.child({ bus: kind }),
    publishTimeoutMs,
    node,
  });
}
