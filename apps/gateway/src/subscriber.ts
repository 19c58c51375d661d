import type { Bus, ChannelRegistry } from "@rocket/bus";
import { encodeSubscribeReply, type Since } from "@rocket/protocol";
import type { SubscriptionAudience } from "./audience.js";
import type { Hub } from "./hub.js";
import type { Outbox } from "./outbox.js";
import type { PendingJoins } from "./pending-joins.js";
import type { Recovery } from "./recovery.js";
import { encoded, ok } from "./replies.js";

/** `{"ok":true,"recovered":false}`: recovery asked on a channel without history. */
const notRecovered = encoded(encodeSubscribeReply(false, undefined));

/**
 * Subscribing connections to the channels of one hub: the channel is recorded cluster-wide
 * (a channel exists once anybody subscribed to it, and stays while anybody is subscribed),
 * the node takes a bus reference to its topic, and the connection's socket joins the topic,
 * so that fan-out reaches it. On a channel with history a subscribe with `since` goes
 * through a catch-up (recovery.ts): the reply carries the position, recovered messages
 * follow it, and the socket joins the topic once it caught up.
 */
export interface Subscriber {
  /**
   * Fills the reply reserved at `ticket` and resolves once deliveries on `channel` reach
   * `outbox`'s socket (written after that reply) or, with `since`, follow the reply through
   * the outbox. Rejects (the bus did not confirm in time) with nothing held and the ticket
   * unfilled. Without history, `since` is answered `{"ok":true,"recovered":false}` when it
   * holds a position and `{"ok":true}` when it is `{}`.
   */
  subscribe(outbox: Outbox, channel: string, since: Since | undefined, ticket: number): Promise<void>;
  /** Undoes one {@link subscribe} that resolved. Also right after the socket closed. */
  unsubscribe(outbox: Outbox, channel: string): void;
}

export function createSubscriber(
  hub: Hub,
  bus: Bus,
  registry: ChannelRegistry,
  recovery: Recovery,
  joins: PendingJoins,
  audience?: SubscriptionAudience,
): Subscriber {
  // The socket joins the topic in the step that writes the ok; while an earlier reply keeps
  // the ok back, the topic's deliveries queue behind it in the outbox.
  const join = (outbox: Outbox, topic: string, okWritten: boolean): void => {
    if (okWritten) outbox.subscribe(topic);
    else joins.wait(outbox, topic);
  };
  const joined = (outbox: Outbox, channel: string, since: Since | undefined, ticket: number): Promise<void> | undefined => {
    const entering = entered(outbox, channel, since, ticket);
    // Counted once the subscription took effect (a catch-up that fails never counts).
    if (entering === undefined) audience?.join(outbox, channel);
    else return entering.then(() => audience?.join(outbox, channel));
  };
  const entered = (outbox: Outbox, channel: string, since: Since | undefined, ticket: number): Promise<void> | undefined => {
    const topic = hub.topic(channel);
    const history = hub.history(channel);
    if (history === undefined) {
      join(outbox, topic, outbox.fillNow(ticket, since?.offset === undefined ? ok : notRecovered));
      return;
    }
    if (since === undefined) {
      join(outbox, topic, outbox.fillNow(ticket, ok));
      recovery.join(outbox, topic);
      return;
    }
    const query = since.offset === undefined ? { limit: 0 } : { since, limit: history.size };
    return recovery
      .catchUp(outbox, topic, () => bus.history(topic, query, history))
      .then(
        (page) =>
          outbox.fill(
            ticket,
            encoded(encodeSubscribeReply(since.offset === undefined ? undefined : page.complete, page.position)),
          ),
        (err: unknown) => {
          void bus.unsubscribe(topic);
          registry.release(hub.path, channel);
          throw err;
        },
      );
  };

  return {
    subscribe(outbox, channel, since, ticket) {
      const topic = hub.topic(channel);
      const registered = registry.register(hub.path, channel);
      const reference = bus.subscribe(topic, hub.history(channel));
      return Promise.all([registered, reference]).then(
        () => joined(outbox, channel, since, ticket),
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
      joins.leave(outbox, topic);
      recovery.leave(outbox, topic);
      audience?.leave(outbox, channel);
      void bus.unsubscribe(topic);
      registry.release(hub.path, channel);
    },
  };
}

function noop(): void {}
