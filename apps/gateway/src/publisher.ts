import type { Bus, ChannelRegistry } from "@rocket/bus";
import { deliveryPositionParts, encodeDelivery, encodeDeliveryHead, type Reply } from "@rocket/protocol";
import type { Hub } from "./hub.js";
import { invalidChannel, ok, unavailable } from "./replies.js";

/** A reply, or a promise of one when the registry or the bus answers later. */
export type ReplyResult = Reply | Promise<Reply>;

/**
 * Publishing into one hub, whoever asks (a WebSocket session now): the channel must exist
 * somewhere in the cluster, then the bus takes the frame. The reply is `ok` once the bus
 * accepted it, `invalid_channel`, or `unavailable` (outcome unknown: the bus did not confirm).
 * With the in-process bus and a known channel everything is synchronous, and the reply can
 * leave in the same write as the delivery.
 */
export interface Publisher {
  /** Publishes `event` with `dataJson` (the publisher's own JSON text) on `channel`, a checked name. */
  publish(channel: string, event: string, dataJson: string): ReplyResult;
}

export function createPublisher(hub: Hub, bus: Bus, registry: ChannelRegistry): Publisher {
  const { counters, logger } = hub;

  const accepted = (): Reply => {
    counters.publishesAccepted.inc();
    return ok;
  };
  const failed = (err: unknown, what: string): Reply => {
    logger.debug({ err, what }, "bus operation failed");
    return unavailable;
  };
  const send = (topic: string, channel: string, event: string, dataJson: string): ReplyResult => {
    const history = hub.history(channel);
    let pending: Promise<unknown> | undefined;
    try {
      // Built once here; every node forwards these bytes untouched. On a channel with
      // history the bus appends the position it takes in the same step as the store.
      if (history === undefined) pending = bus.publish(topic, Buffer.from(encodeDelivery(event, channel, dataJson)));
      else {
        const head = Buffer.from(encodeDeliveryHead(event, channel, dataJson));
        const position = bus.publishWithHistory(topic, head, history, deliveryPositionParts);
        pending = position instanceof Promise ? position : undefined;
      }
    } catch (err) {
      return failed(err, "publish");
    }
    if (pending === undefined) return accepted();
    return pending.then(accepted, (err: unknown) => failed(err, "publish"));
  };

  return {
    publish(channel, event, dataJson) {
      const topic = hub.topic(channel);
      const exists = registry.exists(hub.path, channel);
      if (exists === true) {
        registry.touch(hub.path, channel);
        return send(topic, channel, event, dataJson);
      }
      if (exists === false) return invalidChannel;
      return exists.then(
        (yes) => {
          if (!yes) return invalidChannel;
          registry.touch(hub.path, channel);
          return send(topic, channel, event, dataJson);
        },
        (err: unknown) => failed(err, "channel lookup"),
      );
    },
  };
}
