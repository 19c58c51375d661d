export {
  type Bus,
  type BusLogger,
  type BusObserver,
  type BusOptions,
  BusUnavailableError,
  type DeliverFn,
  nowMs,
} from "./bus.js";
export { createMemoryBus } from "./bus-memory.js";
export { createRedisBus, type RedisBusOptions } from "./bus-redis.js";
export { defaultRedisPrefix } from "./redis-names.js";
export { parseRedisUrl, type RedisAddress, type RedisTarget, RedisUrlError, redactRedisUrl } from "./redis-url.js";
