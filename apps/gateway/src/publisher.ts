import type { Bus, ChannelRegistry, StreamPosition } from "@rocket/bus";
import { deliveryPositionParts, type ErrorCode, encodeDelivery, encodeDeliveryHead, type Reply } from "@rocket/protocol";
import type { Hub } from "./hub.js";
import { invalidChannel, ok, unavailable } from "./replies.js";

/** A reply, or a promise of one when the registry or the bus answers later. */
export type ReplyResult = Reply | Promise<Reply>;

/** A reply to a publish, with the message's position when the channel keeps history. */
export type PositionedReply = { readonly ok: true; readonly position?: StreamPosition | undefined } | { readonly err: ErrorCode };

/**
 * Publishing into one hub, whoever asks (a WebSocket session, the HTTP API): the channel must
 * exist somewhere in the cluster, then the bus takes the frame. The reply is `ok` once the
 * bus accepted it, `invalid_channel`, or `unavailable` (outcome unknown: the bus did not
 * confirm). With the in-process bus and a known channel everything is synchronous, and the
 * reply can leave in the same write as the delivery.
 */
export interface Publisher {
  /** Publishes `event` with `dataJson` (the publisher's own JSON text) on `channel`, a checked name. */
  publish(channel: string, event: string, dataJson: string): ReplyResult;
  /**
   * {@link publish} on a channel a subscriber of this node holds (the publisher's own
   * subscription): it exists, and its holder keeps it alive, so the registry is not asked.
   */
  publishHeld(channel: string, event: string, dataJson: string): ReplyResult;
  /**
   * The application's backend publishing (the HTTP API): as {@link publish}, but a channel
   * nobody subscribed to yet is created rather than refused, and an accepted message on a
   * channel with history comes back with its position.
   */
  publishCreating(channel: string, event: string, dataJson: string): Promise<PositionedReply>;
}

export function createPublisher(hub: Hub, bus: Bus, registry: ChannelRegistry): Publisher {
  const { counters, logger } = hub;

  const failed = (err: unknown, what: string): Reply => {
    logger.debug({ err, what }, "bus operation failed");
    return unavailable;
  };
  /**
   * Hands the frame to the bus: undefined when it was accepted at once (without a position),
   * the position when accepted at once with one, or a promise of either.
   */
  const hand = (
    channel: string,
    event: string,
    dataJson: string,
  ): StreamPosition | Promise<StreamPosition> | Promise<void> | undefined => {
    const topic = hub.topic(channel);
    const history = hub.history(channel);
    // Built once here; every node forwards these bytes untouched. On a channel with
    // history the bus appends the position it takes in the same step as the store.
    if (history === undefined) return bus.publish(topic, Buffer.from(encodeDelivery(event, channel, dataJson)));
    const head = Buffer.from(encodeDeliveryHead(event, channel, dataJson));
    return bus.publishWithHistory(topic, head, history, deliveryPositionParts);
  };
  // Made once: these run for every publish.
  const accepted = (): Reply => {
    counters.publishesAccepted.inc();
    return ok;
  };
  const notAccepted = (err: unknown): Reply => failed(err, "publish");
  const send = (channel: string, event: string, dataJson: string): ReplyResult => {
    let handed: ReturnType<typeof hand>;
    try {
      handed = hand(channel, event, dataJson);
    } catch (err) {
      return notAccepted(err);
    }
    return handed instanceof Promise ? handed.then(accepted, notAccepted) : accepted();
  };

  return {
    publish(channel, event, dataJson) {
      const exists = registry.publishing(hub.path, channel);
      if (exists === true) return send(channel, event, dataJson);
      if (exists === false) return invalidChannel;
      return exists.then(
        (yes) => (yes ? send(channel, event, dataJson) : invalidChannel),
        (err: unknown) => failed(err, "channel lookup"),
      );
    },
    publishHeld: send,
    async publishCreating(channel, event, dataJson) {
      try {
        // A register given back at once: the channel is recorded (and lives its TTL) without a holder.
        await registry.register(hub.path, channel);
        registry.release(hub.path, channel);
      } catch (err) {
        return failed(err, "channel registration") as PositionedReply;
      }
      try {
        const position = (await hand(channel, event, dataJson)) ?? undefined;
        counters.publishesAccepted.inc();
        return { ok: true, position };
      } catch (err) {
        return failed(err, "publish") as PositionedReply;
      }
    },
  };
}
