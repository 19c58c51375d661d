export {
  type Bus,
  type BusLogger,
  type BusObserver,
  type BusOptions,
  BusUnavailableError,
  type ChannelRegistry,
  type DeliverFn,
  type GapFn,
  type HistoryEntry,
  type HistoryOptions,
  type HistoryPage,
  type HistoryQuery,
  nowMs,
  type PositionFormat,
  type RegistryObserver,
  type StreamPosition,
} from "./bus.js";
export { createMemoryBus, type MemoryBusOptions } from "./bus-memory.js";
export { createRedisBus, type RedisBus, type RedisBusOptions } from "./bus-redis.js";
export type { RedisBusPhase, RedisBusState } from "./redis-bus-state.js";
export { RedisTimeoutError } from "./redis-link.js";
export { defaultRedisPrefix } from "./redis-names.js";
export {
  describeRedisTarget,
  parseRedisUrl,
  type RedisAddress,
  type RedisTarget,
  RedisUrlError,
  redactRedisUrl,
} from "./redis-url.js";
export { createMemoryRegistry } from "./registry-memory.js";
export { createRedisRegistry } from "./registry-redis.js";
