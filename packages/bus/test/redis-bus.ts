import { randomUUID } from "node:crypto";
import {
  type BusObserver,
  type ChannelRegistry,
  createRedisBus,
  createRedisRegistry,
  type DeliverFn,
  parseRedisUrl,
  type RedisBus,
  type RedisBusOptions,
} from "../src/index.js";

/** Options for a test bus: a URL and maybe a delivery handler; the rest has test defaults. */
export type TestRedisBusOptions = Partial<Omit<RedisBusOptions, "target">> & {
  readonly url: string;
  readonly deliver?: DeliverFn;
};

/**
 * Creates a Redis bus with a unique node name and its channel registry, as the gateway does
 * (registry and delivery handler before the bus is ready), and resolves once the bus is
 * ready (rejects after `timeoutMs`). Readiness is taken from the observer, so no polling.
 */
export async function readyRedisNode(
  options: TestRedisBusOptions,
  timeoutMs = 10_000,
): Promise<{ bus: RedisBus; registry: ChannelRegistry }> {
  let onReady: (() => void) | undefined;
  const observer: BusObserver = {
    ...options.observer,
    readyChanged(ready, reason) {
      options.observer?.readyChanged?.(ready, reason);
      if (ready) onReady?.();
    },
  };
  const { url, deliver, ...rest } = options;
  const bus = createRedisBus({
    publishTimeoutMs: 2000,
    node: `test-${randomUUID().slice(0, 8)}`,
    ...rest,
    target: parseRedisUrl(url),
    observer,
  });
  const registry = createRedisRegistry(bus);
  if (deliver) bus.onDeliver(deliver);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bus not ready within ${timeoutMs} ms`)), timeoutMs);
    onReady = () => {
      clearTimeout(timer);
      resolve();
    };
  }).catch(async (err: unknown) => {
    await bus.close();
    throw err;
  });
  return { bus, registry };
}

/** {@link readyRedisNode} without the registry. */
export async function readyRedisBus(options: TestRedisBusOptions, timeoutMs = 10_000): Promise<RedisBus> {
  return (await readyRedisNode(options, timeoutMs)).bus;
}
