import { isValidChannelName, type ReferenceDecoded, referenceDecode } from "./reference-decoder.js";

/**
 * What a gateway answers to each frame of one connection, per docs/protocol.md, for a hub
 * whose read-only secret is empty (open) and whose read-write secret is `readWriteSecret`,
 * on one node (the in-process bus never fails).
 */

export const ok = '{"ok":true}';
export const err = (code: string) => `{"err":"${code}"}`;

/** What the model expects of one frame. */
export interface Prediction {
  /** Replies the gateway may give (one of them, exactly once, in order). */
  readonly replies: readonly string[];
  /** After this frame's reply the gateway closes the connection with 1000. */
  readonly closes: boolean;
  /** A publish the model expects to be delivered, when its reply is ok. */
  readonly publish?: { readonly channel: string; readonly event: string; readonly data: unknown };
  /** The first subscribe of `channel` on this connection: call `ChannelWorld.subscribed` on its ok. */
  readonly creates?: string;
}

/**
 * Channels seen by every connection of one gateway. A channel exists once a subscribe to it
 * succeeded; until that reply is seen by its connection, other connections cannot know.
 */
export class ChannelWorld {
  private readonly confirmed = new Set<string>();
  private readonly inFlight = new Map<string, number>();
  /** Every (event, channel, data) published with an ok possible, as JSON, per channel. */
  private readonly published = new Map<string, Set<string>>();

  subscribing(channel: string): void {
    this.inFlight.set(channel, (this.inFlight.get(channel) ?? 0) + 1);
  }

  subscribed(channel: string): void {
    this.confirmed.add(channel);
    const n = (this.inFlight.get(channel) ?? 1) - 1;
    if (n > 0) this.inFlight.set(channel, n);
    else this.inFlight.delete(channel);
  }

  /** True: exists; false: cannot exist; undefined: another connection may be creating it. */
  exists(channel: string): boolean | undefined {
    if (this.confirmed.has(channel)) return true;
    return this.inFlight.has(channel) ? undefined : false;
  }

  publishing(channel: string, event: string, data: unknown): void {
    const set = this.published.get(channel) ?? new Set<string>();
    this.published.set(channel, set);
    set.add(JSON.stringify([event, data]));
  }

  /** Whether a delivery's content is one that some publish to that channel may have sent. */
  wasPublished(channel: string, event: string, data: unknown): boolean {
    return this.published.get(channel)?.has(JSON.stringify([event, data])) ?? false;
  }
}

const access = { none: 0, readOnly: 1, readWrite: 2 } as const;

/** One connection's protocol state, advanced frame by frame in the order they are sent. */
export class SessionModel {
  private level: number = access.none;
  /** Channels this connection subscribed to (reply ok) and did not leave. */
  private readonly channels = new Set<string>();
  /** Channels whose subscribe this connection sent, with an ok expected. */
  private readonly created = new Set<string>();
  private closed = false;

  constructor(
    private readonly world: ChannelWorld,
    private readonly readWriteSecret: string,
  ) {}

  /** Whether this connection is subscribed to `channel` (as far as frames sent so far go). */
  isSubscribed(channel: string): boolean {
    return this.channels.has(channel);
  }

  /** Whether this connection ever subscribed to `channel`. */
  hasSubscribed(channel: string): boolean {
    return this.created.has(channel);
  }

  /** The reply to `frame`, and its effect on the state. Undefined once the connection is closing. */
  predict(frame: Uint8Array): Prediction | undefined {
    if (this.closed) return undefined;
    return this.apply(referenceDecode(frame));
  }

  private apply(command: ReferenceDecoded): Prediction {
    const reply = (text: string): Prediction => ({ replies: [text], closes: false });
    switch (command.type) {
      case "error":
        return reply(err("invalid_data"));
      case "auth":
        if (command.access === "read-only") this.level = access.readOnly;
        else this.level = command.secret === this.readWriteSecret ? access.readWrite : access.none;
        return reply(this.level === access.none ? err("invalid_credentials") : ok);
      case "logout":
        this.level = access.none;
        return reply(ok);
      case "disconnect":
        this.closed = true;
        return { replies: [ok], closes: true };
      case "subscribe": {
        if (this.level < access.readOnly) return reply(err("access_denied"));
        if (!isValidChannelName(command.channel)) return reply(err("invalid_channel_name"));
        this.channels.add(command.channel);
        if (this.created.has(command.channel)) return reply(ok);
        this.created.add(command.channel);
        this.world.subscribing(command.channel);
        return { replies: [ok], closes: false, creates: command.channel };
      }
      case "unsubscribe":
        if (typeof command.channel === "string") this.channels.delete(command.channel);
        return reply(ok);
      case "publish": {
        if (this.level < access.readWrite) return reply(err("access_denied"));
        if (!isValidChannelName(command.channel)) return reply(err("invalid_channel_name"));
        const exists = this.created.has(command.channel) || this.world.exists(command.channel);
        if (exists === false) return reply(err("invalid_channel"));
        this.world.publishing(command.channel, command.event, command.data);
        const publish = { channel: command.channel, event: command.event, data: command.data };
        return { replies: exists === true ? [ok] : [ok, err("invalid_channel")], closes: false, publish };
      }
    }
  }
}
