import { type Access, type Delivery, encodeCommand } from "@rocket/protocol";

/** A delivery as handlers receive it; `T` is what the application promises `data` holds. */
export interface Message<T = unknown> extends Delivery {
  readonly data: T;
  /** On a channel with history: the message's offset in it. */
  readonly offset?: number;
  /** On a channel with history: the epoch (life) of the history the offset counts in. */
  readonly epoch?: string;
}

/** Credentials presented with `{"auth":...}`. */
export interface Credentials {
  readonly access: Access;
  readonly secret: string;
}

/**
 * A request every server answers at once without side effects: unsubscribing from no
 * channel (the protocol answers any unsubscribe). Its reply times a round trip.
 */
export const pingFrame = encodeCommand({ type: "unsubscribe", channel: "" });
