import type { FrameExtras, StreamPosition } from "@rocket/protocol";

/** A channel's position: the offset of the last message received and the epoch of its history. */
export type Position = StreamPosition;

/** What a subscribe reply said about recovery. */
export interface SubscribeResult {
  /** Present when the subscribe asked to recover (after a reconnect, or with `since`): whether every missed message follows. */
  readonly recovered?: boolean;
  /** The channel's position the subscription starts from; absent on a channel without history. */
  readonly position?: Position;
}

/** A channel's recovery after a reconnect, as `onRecovered` and `onGap` report it. */
export interface RecoveryEvent {
  readonly channel: string;
  /** Where the channel stands now. */
  readonly position: Position | undefined;
}

/** The position a reply or a delivery carries in its extra keys, if it carries one. */
export function positionOf(extras: FrameExtras): Position | undefined {
  const { offset, epoch } = extras;
  return typeof offset === "number" && typeof epoch === "string" ? { offset, epoch } : undefined;
}

/** What a subscribe reply said, from its extra keys. */
export function subscribeResult(extras: FrameExtras): SubscribeResult {
  const position = positionOf(extras);
  const { recovered } = extras;
  return {
    ...(typeof recovered === "boolean" ? { recovered } : {}),
    ...(position === undefined ? {} : { position }),
  };
}

/**
 * The last position received per channel with history: from the subscribe reply, then from
 * every delivery. A reconnect resubscribes from it, so the server sends what was missed.
 */
export class Positions {
  readonly #byChannel = new Map<string, Position>();

  get(channel: string): Position | undefined {
    return this.#byChannel.get(channel);
  }

  set(channel: string, position: Position | undefined): void {
    if (position !== undefined) this.#byChannel.set(channel, position);
  }

  delete(channel: string): void {
    this.#byChannel.delete(channel);
  }
}
