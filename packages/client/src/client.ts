import {
  type Access,
  ErrorCode,
  encodeCommand,
  type FrameExtras,
  type PresenceUser,
  parseServerFrame,
  type Reply,
} from "@rocket/protocol";
import { Connection, type ConnectionState, type StateChange } from "./connection.js";
import { ErrorReporter } from "./error-reporter.js";
import { ClientErrorCode, RocketError } from "./errors.js";
import { type Message, pingFrame } from "./frames.js";
import { type ClientOptions, resolveOptions } from "./options.js";
import { type Position, positionOf, type RecoveryEvent, type SubscribeResult, subscribeResult } from "./positions.js";
import { messageOf, Subscriptions, type Unsubscribed } from "./subscriptions.js";

const now = (): number => performance.now();

/**
 * A Rocket (webrocket protocol) client. Connects at construction, like a WebSocket, and
 * stays connected: when the connection drops it reconnects with exponential backoff and
 * full jitter (rotating through the URLs given), authenticates again and resubscribes
 * every channel, in order, before anything queued meanwhile goes out.
 *
 * Every request returns a promise for its reply: it resolves on `{"ok":true}` and rejects
 * with a {@link RocketError} carrying the protocol's error code. Replies come back in request
 * order, which is how they are matched.
 */
export class RocketClient {
  readonly #errors = new ErrorReporter();
  readonly #channels = new Subscriptions(this.#errors);
  readonly #connection: Connection;

  constructor(options: ClientOptions) {
    this.#connection = new Connection(resolveOptions(options), this.#channels, this.#errors, () => this.ping());
  }

  /** The connection state now; {@link onState} reports changes. */
  get state(): ConnectionState {
    return this.#connection.state;
  }

  /** The URL of the current connection, or of the attempt being made or scheduled. */
  get url(): string {
    return this.#connection.url;
  }

  /** The channels the server confirmed and that are restored on reconnect, in order. */
  get subscriptions(): readonly string[] {
    return this.#channels.channels;
  }

  /**
   * The position of the last message received on `channel` (or where its subscription
   * started): `{offset, epoch}`. Undefined for a channel without history, or not subscribed.
   */
  position(channel: string): Position | undefined {
    return this.#channels.position(channel);
  }

  /**
   * Calls `listener` when, after a reconnect, a channel was resubscribed and every message
   * missed meanwhile was delivered (before any newer one): nothing was lost.
   */
  onRecovered(listener: (event: RecoveryEvent) => void): () => void {
    return this.#channels.recovered.add(listener);
  }

  /**
   * Calls `listener` when, after a reconnect, messages missed on a channel could not be
   * recovered (its history was lost or did not reach back far enough): live messages
   * continue from `position`, and the application should reload what it shows of the channel.
   */
  onGap(listener: (event: RecoveryEvent) => void): () => void {
    return this.#channels.gaps.add(listener);
  }

  /** Number of requests waiting for a connection. */
  get queued(): number {
    return this.#connection.requests.queued;
  }

  /** Calls `listener` on every state event; returns the function that removes it. */
  onState(listener: (change: StateChange) => void): () => void {
    return this.#connection.states.add(listener);
  }

  /**
   * Calls `listener` with errors that belong to no request: a handler that threw, a session
   * that could not be fully restored after a reconnect, a frame the client does not
   * understand. Without any error listener such errors are thrown asynchronously, so that
   * they are never lost (in Node that ends the process, as an unhandled `error` event does).
   */
  onError(listener: (error: RocketError) => void): () => void {
    return this.#errors.listeners.add(listener);
  }

  /**
   * Calls `listener` when the server unsubscribes the session from a channel: a refreshed
   * token no longer allows it (`reason` `access_denied`). The channel is no longer restored
   * on reconnect. Only sessions authenticated with a token receive this.
   */
  onUnsubscribed(listener: (event: Unsubscribed) => void): () => void {
    return this.#channels.unsubscribed.add(listener);
  }

  /**
   * Calls `handler` for every message delivered on `channel`, or only for those of `event`.
   * Handlers are independent of subscriptions: they stay until removed with the returned function.
   */
  on<T = unknown>(channel: string, handler: (message: Message<T>) => void): () => void;
  on<T = unknown>(channel: string, event: string, handler: (message: Message<T>) => void): () => void;
  on(channel: string, eventOrHandler: string | ((message: Message) => void), handler?: (message: Message) => void): () => void {
    if (typeof eventOrHandler === "function") return this.#channels.handlers.add(channel, undefined, eventOrHandler);
    if (handler === undefined) throw new TypeError("on(channel, event, handler): handler missing");
    return this.#channels.handlers.add(channel, eventOrHandler, handler);
  }

  /**
   * Authenticates the session; the credentials are presented again on every reconnect.
   * Rejects with `invalid_credentials` when the secret is wrong (the session then has no access).
   */
  auth(access: Access, secret: string): Promise<void> {
    const credentials = { access, secret };
    return this.#request(
      encodeCommand({ type: "auth", access: credentials.access, secret: credentials.secret }),
      true,
      (reply) => {
        if ("ok" in reply) this.#connection.tokens.acceptedSecret(credentials);
        else if (reply.err === ErrorCode.InvalidCredentials) this.#connection.tokens.credentials = undefined;
      },
    );
  }

  /** Drops the session's access; reconnects no longer authenticate. */
  logout(): Promise<void> {
    return this.#request(encodeCommand({ type: "logout" }), true, (reply) => {
      if ("ok" in reply) this.#connection.tokens.credentials = undefined;
    });
  }

  /**
   * Subscribes to `channel` (creating it); it is resubscribed on every reconnect until
   * {@link unsubscribe}. On a channel with history the subscription starts from the
   * channel's position now, or from `since` (every message after it is delivered first:
   * `recovered` says whether all of them still were there), and every reconnect
   * resubscribes from the last position received, so nothing is missed while the history
   * keeps it; {@link onRecovered} and {@link onGap} report how each went.
   */
  subscribe(channel: string, options: { readonly since?: Position } = {}): Promise<SubscribeResult> {
    const since = options.since ?? {};
    return this.#request(encodeCommand({ type: "subscribe", channel, since }), true, (reply, extras) => {
      const result = subscribeResult(extras);
      if ("ok" in reply) this.#channels.joined(channel, result);
      return result;
    });
  }

  /**
   * Reads a channel's history: the last `limit` messages (default and at most what the
   * channel keeps), or those after `since`, oldest first, with the channel's position.
   * Needs the right to subscribe. On a channel without history: no messages, no position.
   */
  history(
    channel: string,
    options: { readonly limit?: number; readonly since?: Position } = {},
  ): Promise<{ readonly messages: Message[]; readonly position: Position | undefined; readonly recovered?: boolean }> {
    const frame = encodeCommand({ type: "history", channel, ...options });
    return this.#request(frame, true, (_reply, extras) => {
      const raw = Array.isArray(extras.publications) ? (extras.publications as Record<string, unknown>[]) : [];
      const messages = raw.flatMap((p) => {
        const frame = parseServerFrame(JSON.stringify(p));
        return frame?.type === "delivery" ? [messageOf(frame.delivery, frame.extras)] : [];
      });
      const { recovered } = extras;
      return {
        messages,
        position: positionOf(extras),
        ...(typeof recovered === "boolean" ? { recovered } : {}),
      };
    });
  }

  /**
   * The users (tokens' `sub`) subscribed to a channel with Presence, cluster-wide, with
   * their connections; none on a channel without Presence. Needs the `presence` right (or
   * read-only access with a secret). The channel's `__join`/`__leave` events come to
   * handlers like any other (`on(channel, "__join", …)`).
   */
  presence(channel: string): Promise<PresenceUser[]> {
    return this.#request(encodeCommand({ type: "presence", channel }), true, (_reply, extras) => {
      const raw = Array.isArray(extras.users) ? (extras.users as Record<string, unknown>[]) : [];
      return raw.flatMap((u) =>
        typeof u.user === "string" && typeof u.connections === "number" ? [{ user: u.user, connections: u.connections }] : [],
      );
    });
  }

  /** Unsubscribes from `channel`. Its handlers stay. */
  unsubscribe(channel: string): Promise<void> {
    return this.#request(encodeCommand({ type: "unsubscribe", channel }), true, (reply) => {
      if ("ok" in reply) this.#channels.left(channel);
    });
  }

  /**
   * Publishes `data` (any JSON value) as `event` on `channel`. Resolves once the server,
   * and in a cluster the bus, accepted it. Rejects with `invalid_channel` when nobody ever
   * subscribed to the channel, and with `connection_lost` when the connection dropped before
   * the reply (it may still have been delivered: publishes are never retried on their own).
   */
  publish(channel: string, event: string, data?: unknown): Promise<void> {
    let frame: string;
    try {
      frame = encodeCommand({ type: "publish", event, channel, data });
    } catch (cause) {
      return Promise.reject(new RocketError(ErrorCode.InvalidData, "data cannot be encoded as JSON", { cause }));
    }
    return this.#request(frame, false);
  }

  /**
   * Measures a round trip to the server, in ms, with a request that changes nothing.
   * Rejects with `not_connected` unless the state is `open`: pings are never queued.
   */
  ping(): Promise<number> {
    const connection = this.#connection;
    if (!connection.ready) return Promise.reject(new RocketError(ClientErrorCode.NotConnected, "not connected"));
    const started = now();
    return new Promise((resolve, reject) => {
      connection.requests.send({
        frame: pingFrame,
        retry: false,
        internal: false,
        onReply: () => resolve(now() - started),
        onFail: reject,
      });
    });
  }

  /**
   * Closes for good: waits for the replies to requests already sent, says
   * `{"disconnect":true}` and resolves once the socket closed. Queued requests are rejected
   * with `closed`. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    return this.#connection.close();
  }

  #request<T = void>(frame: string, retry: boolean, onReply?: (reply: Reply, extras: FrameExtras) => T): Promise<T> {
    return this.#connection.requests.request(frame, retry, onReply);
  }
}
