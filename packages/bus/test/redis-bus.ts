import { randomUUID } from "node:crypto";
import { type Bus, type BusObserver, createRedisBus, type RedisBusOptions } from "../src/index.js";

/** Options for a test bus: a URL and a deliver function; the rest has test defaults. */
export type TestRedisBusOptions = Partial<RedisBusOptions> & Pick<RedisBusOptions, "url" | "deliver">;

/**
 * Creates a Redis bus with a unique node name and resolves once it is ready (rejects after
 * `timeoutMs`). Readiness is taken from the observer, so no polling.
 */
export async function readyRedisBus(options: TestRedisBusOptions, timeoutMs = 10_000): Promise<Bus> {
  let onReady: (() => void) | undefined;
  const observer: BusObserver = {
    ...options.observer,
    readyChanged(ready, reason) {
      options.observer?.readyChanged?.(ready, reason);
      if (ready) onReady?.();
    },
  };
  const bus = createRedisBus({ publishTimeoutMs: 2000, node: `test-${randomUUID().slice(0, 8)}`, ...options, observer });
  if (bus.isReady()) return bus;
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
  return bus;
}
