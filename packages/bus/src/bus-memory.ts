import { type Bus, type BusOptions, BusUnavailableError, dropDelivery, nowMs, secondHandlerError } from "./bus.js";

/**
 * The embedded bus: one node, no Redis. Delivery is synchronous inside `publish`, so the
 * order of publishes is the order of deliveries.
 */
export function createMemoryBus(options: BusOptions = {}): Bus {
  const { observer } = options;
  const refs = new Map<string, number>();
  let deliver = dropDelivery;
  let closing: Promise<void> | undefined;

  return {
    kind: "memory",
    onDeliver(handler) {
      if (deliver !== dropDelivery) throw secondHandlerError();
      deliver = handler;
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
    isReady() {
      return closing === undefined;
    },
    close() {
      closing ??= Promise.resolve().then(() => {
        refs.clear();
        observer?.subscribedTopics?.(0);
      });
      return closing;
    },
  };
}
