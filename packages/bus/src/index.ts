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
