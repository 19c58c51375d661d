import { encodeReply } from "@rocket/protocol";
import type { HubCounters } from "./hub.js";
import { type AnyReply, replyCode } from "./replies.js";

/** A delivery sent through the outbox (recovered or caught-up messages), in order with the replies. */
export interface QueuedDelivery {
  readonly delivery: Uint8Array;
}

/**
 * What the outbox queues: replies; the text of a frame the server generates in the place
 * of a reply (an `__unsubscribed` event); and deliveries of a channel catching up.
 */
export type Outgoing = AnyReply | string | QueuedDelivery;

/** Where an outgoing frame is sent. */
export interface OutgoingSocket {
  send(message: string | Uint8Array, isBinary: boolean, compress: boolean): unknown;
}

/** What writing an outgoing frame counts. */
export type OutgoingCounters = Pick<HubCounters, "reply" | "bytesSent" | "messagesDelivered">;

/** Sends one outgoing item as its text frame, and counts it: replies by code, deliveries, bytes. */
export function writeOutgoing(socket: OutgoingSocket, counters: OutgoingCounters, item: Outgoing): void {
  if (typeof item === "string") {
    counters.bytesSent.inc(item.length);
    socket.send(item, false, false);
    return;
  }
  if ("delivery" in item) {
    counters.messagesDelivered.inc();
    counters.bytesSent.inc(item.delivery.byteLength);
    socket.send(item.delivery, false, false);
    return;
  }
  const text = "encoded" in item ? item.encoded : encodeReply(item);
  counters.reply(replyCode(item));
  counters.bytesSent.inc(text.length);
  socket.send(text, false, false);
}
