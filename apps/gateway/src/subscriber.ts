import type { Bus, ChannelRegistry } from "@rocket/bus";
import type { Hub } from "./hub.js";
import type { Outbox } from "./outbox.js";

/**
 * Subscribing connections to the channels of one hub: the channel is recorded cluster-wide
 * (a channel exists once anybody subscribed to it, and stays while anybody is subscribed),
 * the node takes a bus reference to its topic, and the connection's socket joins the topic,
 * so that fan-out reaches it.
 */
export interface Subscriber {
  /**
   * Resolves once deliveries on `channel` reach `outbox`'s socket. Rejects (the bus did not
   * confirm in time) with nothing held.
   */
  subscribe(outbox: Outbox, channel: string): Promise<void>;
  /** Undoes one {@link subscribe} that resolved. Also right after the socket closed. */
  unsubscribe(outbox: Outbox, channel: string): void;
}

export function createSubscriber(hub: Hub, bus: Bus, registry: ChannelRegistry): Subscriber {
  return {
    subscribe(outbox, channel) {
      const topic = hub.topic(channel);
      const registered = registry.register(hub.path, channel);
      const reference = bus.subscribe(topic);
      return Promise.all([registered, reference]).then(
        () => outbox.subscribe(topic),
        (err: unknown) => {
          // One of the two may have been taken although the other failed: give it back.
          reference.then(() => bus.unsubscribe(topic), noop);
          registered.then(() => registry.release(hub.path, channel), noop);
          throw err;
        },
      );
    },
    unsubscribe(outbox, channel) {
      const topic = hub.topic(channel);
      outbox.unsubscribe(topic);
      void bus.unsubscribe(topic);
      registry.release(hub.path, channel);
    },
  };
}

function noop(): void {}
