import type { Message } from "./frames.js";
import { Listeners } from "./listeners.js";

interface ChannelHandlers {
  readonly all: Listeners<Message>;
  readonly byEvent: Map<string, Listeners<Message>>;
}

/** Message handlers by channel, and within a channel by event. */
export class MessageHandlers {
  readonly #channels = new Map<string, ChannelHandlers>();

  /** Adds a handler for every message of `channel`, or only those of `event`; returns its remover. */
  add(channel: string, event: string | undefined, handler: (message: Message) => void): () => void {
    let entry = this.#channels.get(channel);
    if (entry === undefined) {
      entry = { all: new Listeners(), byEvent: new Map() };
      this.#channels.set(channel, entry);
    }
    let listeners = entry.all;
    if (event !== undefined) {
      listeners = entry.byEvent.get(event) ?? new Listeners();
      entry.byEvent.set(event, listeners);
    }
    const remove = listeners.add(handler);
    const owner = entry;
    return () => {
      remove();
      if (event !== undefined && listeners.size === 0) owner.byEvent.delete(event);
      if (owner.all.size === 0 && owner.byEvent.size === 0 && this.#channels.get(channel) === owner) {
        this.#channels.delete(channel);
      }
    };
  }

  /** Runs the channel's handlers, then the event's. */
  dispatch(message: Message, onThrow: (error: unknown) => void): void {
    const entry = this.#channels.get(message.channel);
    if (entry === undefined) return;
    entry.all.emit(message, onThrow);
    entry.byEvent.get(message.event)?.emit(message, onThrow);
  }
}
