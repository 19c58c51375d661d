import type { Bus, ChannelRegistry } from "@rocket/bus";
import { encodeDelivery, type Reply } from "@rocket/protocol";
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
  const send = (topic: string, frame: Uint8Array): ReplyResult => {
    let pending: Promise<void> | undefined;
    try {
      pending = bus.publish(topic, frame);
    } catch (err) {
      return failed(err, "publish");
    }
    if (pending === undefined) return accepted();
    return pending.then(accepted, (err: unknown) => failed(err, "publish"));
  };

  return {
    publish(channel, event, dataJson) {
      // Built once here; every node forwards these bytes untouched.
      const frame = Buffer.from(encodeDelivery(event, channel, dataJson));
      const topic = hub.topic(channel);
      const exists = registry.exists(hub.path, channel);
      if (exists === true) {
        registry.touch(hub.path, channel);
        return send(topic, frame);
      }
      if (exists === false) return invalidChannel;
      return exists.then(
        (yes) => {
          if (!yes) return invalidChannel;
          registry.touch(hub.path, channel);
          return send(topic, frame);
        },
        (err: unknown) => failed(err, "channel lookup"),
      );
    },
  };
}
