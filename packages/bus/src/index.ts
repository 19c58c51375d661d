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
export { createRedisBus } from "./bus-redis.js";
export { createRedisEventQueue, type RedisEventQueueOptions, webhookGroup } from "./event-queue-redis.js";
export {
  type AudienceEvent,
  type AudienceEventName,
  type AudienceObserver,
  type AudienceUser,
  audienceEventNames,
  type ClusterAudience,
  type DescribeTopic,
  type EventBatch,
  type EventQueue,
  type EventSink,
  type NodeDirectory,
  type PresenceFrames,
  type TopicDescription,
} from "./presence.js";
export { createMemoryAudience, createMemoryEventQueue, type MemoryAudienceOptions } from "./presence-memory.js";
export { createRedisAudience, type RedisAudienceOptions } from "./presence-redis.js";
export type { RedisBusPhase, RedisBusState } from "./redis-bus-state.js";
export type { RedisAccess, RedisBus, RedisBusOptions, RedisCompanion } from "./redis-bus-types.js";
export { RedisTimeoutError } from "./redis-deadline.js";
export { createMemoryDirectory, createRedisDirectory } from "./redis-directory.js";
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
