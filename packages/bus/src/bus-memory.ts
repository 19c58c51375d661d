import {
  type Bus,
  type BusOptions,
  BusUnavailableError,
  dropDelivery,
  type GapFn,
  ignoreGap,
  nowMs,
  type PositionFormat,
  type StreamPosition,
  secondGapHandlerError,
  secondHandlerError,
} from "./bus.js";
import { MemoryHistory } from "./history-memory.js";

/** Expired histories are dropped this often even when nobody touches them. */
const sweepEveryMs = 10_000;

/** What `createMemoryBus` takes beyond every bus's options. */
export interface MemoryBusOptions extends BusOptions {
  /** Wall clock for history expiry, ms (injected by tests). Default `Date.now`. */
  readonly clock?: () => number;
}

/**
 * The embedded bus: one node, no Redis. Delivery is synchronous inside `publish`, so the
 * order of publishes is the order of deliveries. History is kept in memory with the same
 * rules as in Redis; nothing is ever missed between publish and delivery, so there are no
 * gaps to fill.
 */
export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  const { observer } = options;
  const refs = new Map<string, number>();
  const history = new MemoryHistory(options.clock);
  const sweeper = setInterval(() => history.sweep(), sweepEveryMs);
  sweeper.unref();
  let deliver = dropDelivery;
  let gap: GapFn = ignoreGap;
  let closing: Promise<void> | undefined;

  const complete = (head: Uint8Array, format: PositionFormat, position: StreamPosition): Uint8Array => {
    const tail = `${format.offset}${position.offset}${format.epoch}${position.epoch}${format.end}`;
    return Buffer.concat([head, Buffer.from(tail, "utf8")]);
  };

  return {
    kind: "memory",
    onDeliver(handler) {
      if (deliver !== dropDelivery) throw secondHandlerError();
      deliver = handler;
    },
    onGap(handler) {
      if (gap !== ignoreGap) throw secondGapHandlerError();
      gap = handler;
    },
    async subscribe(topic) {
      if (closing) throw new BusUnavailableError("bus closed");
      refs.set(topic, (refs.get(topic) ?? 0) + 1);
      observer?.subscribedTopics?.(refs.size);
    },
    async unsubscribe(topic) {
      const n = refs.get(topic);
      if (n === undefined) return;
      if (n <= 1) refs.delete(topic);
      else refs.set(topic, n - 1);
      observer?.subscribedTopics?.(refs.size);
    },
    publish(topic, frame) {
      if (closing) return Promise.reject(new BusUnavailableError("bus closed"));
      if (refs.has(topic)) deliver(topic, frame, nowMs());
      // Accepted the moment it is handed over: there is no remote acknowledgement to wait for.
      observer?.publishAcked?.(0);
      return undefined;
    },
    publishWithHistory(topic, head, options, format) {
      if (closing) return Promise.reject(new BusUnavailableError("bus closed"));
      const stored = history.append(topic, options, (position) => complete(head, format, position));
      const position = { offset: stored.offset, epoch: stored.epoch };
      if (refs.has(topic)) deliver(topic, stored.frame, nowMs(), position);
      observer?.publishAcked?.(0);
      return position;
    },
    async history(topic, query, options) {
      if (closing) throw new BusUnavailableError("bus closed");
      return history.read(topic, query, options);
    },
    deliveredPosition(topic) {
      return refs.has(topic) ? history.position(topic) : undefined;
    },
    isReady() {
      return closing === undefined;
    },
    close() {
      closing ??= Promise.resolve().then(() => {
        clearInterval(sweeper);
        refs.clear();
        history.clear();
        observer?.subscribedTopics?.(0);
      });
      return closing;
    },
  };
}
