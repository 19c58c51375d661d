import { type Delivery, type FrameExtras, ServerEvent } from "@rocket/protocol";
import type { ErrorReporter } from "./error-reporter.js";
import type { Message } from "./frames.js";
import { MessageHandlers } from "./handlers.js";
import { Listeners } from "./listeners.js";
import { type Position, Positions, positionOf, type RecoveryEvent, type SubscribeResult } from "./positions.js";

/** The server unsubscribed the session from a channel (a refreshed token no longer allows it). */
export interface Unsubscribed {
  readonly channel: string;
  /** The error code the server gives as the reason (`access_denied`). */
  readonly reason: string;
}

/**
 * A client's channels: the ones the server confirmed (resubscribed on every new connection,
 * in subscription order), the last position received on each with history, the handlers
 * deliveries go to, and the listeners of what happens to the channels.
 */
export class Subscriptions {
  readonly handlers = new MessageHandlers();
  readonly recovered = new Listeners<RecoveryEvent>();
  readonly gaps = new Listeners<RecoveryEvent>();
  readonly unsubscribed = new Listeners<Unsubscribed>();
  /** Channels the server confirmed, in subscription order. */
  readonly #channels = new Set<string>();
  /** The last position received per channel with history: reconnects resubscribe from it. */
  readonly #positions = new Positions();
  readonly #errors: ErrorReporter;

  constructor(errors: ErrorReporter) {
    this.#errors = errors;
  }

  /** The confirmed channels, in order. */
  get channels(): readonly string[] {
    return [...this.#channels];
  }

  position(channel: string): Position | undefined {
    return this.#positions.get(channel);
  }

  /** What to resubscribe on a new connection: each channel with the position to resume from. */
  *restoring(): Generator<readonly [string, Position | Record<string, never>]> {
    for (const channel of this.#channels) yield [channel, this.#positions.get(channel) ?? {}];
  }

  /** The server confirmed a subscribe. */
  joined(channel: string, result: SubscribeResult): void {
    this.#channels.add(channel);
    this.#positions.set(channel, result.position);
  }

  /** The channel is no longer restored: unsubscribed, or refused when restoring. */
  left(channel: string): void {
    this.#channels.delete(channel);
    this.#positions.delete(channel);
  }

  /** A channel is back after a reconnect: note where it stands and say whether anything was lost. */
  resubscribed(channel: string, result: SubscribeResult): void {
    this.#positions.set(channel, result.position);
    if (result.recovered === undefined) return;
    const event = { channel, position: result.position };
    const listeners = result.recovered ? this.recovered : this.gaps;
    listeners.emit(event, (error) => this.#errors.handlerFailed(error));
  }

  /** A delivery: to the handlers, noting its position; `usesToken`: `__unsubscribed` is the server's. */
  deliver(delivery: Delivery, extras: FrameExtras, usesToken: boolean): void {
    if (delivery.event === ServerEvent.Unsubscribed && usesToken) {
      this.#unsubscribedByServer(delivery);
      return;
    }
    const message = messageOf(delivery, extras);
    if (message.offset !== undefined && message.epoch !== undefined && this.#channels.has(message.channel)) {
      this.#positions.set(message.channel, { offset: message.offset, epoch: message.epoch });
    }
    this.handlers.dispatch(message, (error) => this.#errors.handlerFailed(error));
  }

  #unsubscribedByServer(delivery: Delivery): void {
    this.left(delivery.channel);
    const reason = (delivery.data as { reason?: unknown } | null)?.reason;
    this.unsubscribed.emit({ channel: delivery.channel, reason: typeof reason === "string" ? reason : "unknown" }, (error) =>
      this.#errors.handlerFailed(error),
    );
  }
}

/** A delivery as handlers get it: with its position on a channel with history. */
export function messageOf(delivery: Message, extras: FrameExtras): Message {
  const position = positionOf(extras);
  return position === undefined ? delivery : { ...delivery, offset: position.offset, epoch: position.epoch };
}
