import {
  type Access,
  CloseCode,
  type Delivery,
  ErrorCode,
  encodeCommand,
  type FrameExtras,
  type PresenceUser,
  parseServerFrame,
  type Reply,
  ServerEvent,
} from "@rocket/protocol";
import { ClientErrorCode, RocketError } from "./errors.js";
import { type Credentials, type Message, pingFrame } from "./frames.js";
import { MessageHandlers } from "./handlers.js";
import { Listeners } from "./listeners.js";
import { type ClientOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import { type Position, Positions, positionOf, type RecoveryEvent, type SubscribeResult, subscribeResult } from "./positions.js";
import { mayReconnect, ReconnectPolicy } from "./reconnect.js";
import { SendQueue } from "./send-queue.js";
import { refreshLeadMs, retryAfterMs, tokenExpiry } from "./token.js";
import { globalWebSocket, loadWebSocket, type SocketLike, socketOpen, type WebSocketConstructor } from "./transport.js";

/**
 * Where the connection stands. `connecting`: the first connection is being made;
 * `open`: connected and the session (credentials, channels) restored, requests go out at
 * once; `reconnecting`: the connection was lost or an attempt failed, the next one is
 * scheduled (reported once per attempt); `closed`: for good, nothing more is sent.
 */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/** One connection state event. */
export interface StateChange {
  readonly state: ConnectionState;
  /** The URL connected to, being tried, or tried next (`reconnecting`). */
  readonly url: string;
  /** `reconnecting`: which attempt in a row this is, from 1. */
  readonly attempt?: number;
  /** `reconnecting`: the wait before the attempt, ms. */
  readonly delayMs?: number;
  /** `reconnecting`, `closed`: close code of the connection that ended (1006 when it just dropped). */
  readonly closeCode?: number;
  /** `reconnecting`, `closed`: why it ended, as far as known. */
  readonly reason?: string;
}

/** The server unsubscribed the session from a channel (a refreshed token no longer allows it). */
export interface Unsubscribed {
  readonly channel: string;
  /** The error code the server gives as the reason (`access_denied`). */
  readonly reason: string;
}

/** A token as the credentials presented on every connection. */
interface TokenCredentials {
  readonly token: string;
}

/** A request waiting for its reply (or for a connection). */
interface Request {
  readonly frame: string;
  /**
   * Sent again on the next connection when the reply was lost with the connection: it only
   * sets session state (auth, subscribe, ...), so a second run does no harm. A publish is
   * never retried: it may have been delivered already.
   */
  readonly retry: boolean;
  /** Sent by the client itself (restoring the session, disconnecting): discarded with its connection. */
  readonly internal: boolean;
  readonly onReply: (reply: Reply, extras: FrameExtras) => void;
  readonly onFail: (error: RocketError) => void;
}

type Timer = ReturnType<typeof setTimeout>;

const noop = (): void => {};
const now = (): number => performance.now();
/** Close code reported when the client itself gave up on a connection. */
const abnormalClosure = 1006;

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
  readonly #options: ResolvedOptions;
  readonly #policy: ReconnectPolicy;
  readonly #queue: SendQueue<Request>;
  /** Sent requests, oldest first: the next reply belongs to the first. */
  readonly #inFlight: Request[] = [];
  readonly #handlers = new MessageHandlers();
  readonly #stateListeners = new Listeners<StateChange>();
  readonly #errorListeners = new Listeners<RocketError>();
  readonly #recoveredListeners = new Listeners<RecoveryEvent>();
  readonly #gapListeners = new Listeners<RecoveryEvent>();
  /** The last position received per channel with history: reconnects resubscribe from it. */
  readonly #positions = new Positions();
  readonly #unsubscribedListeners = new Listeners<Unsubscribed>();
  /** Channels the server confirmed, in subscription order: resubscribed on every new connection. */
  readonly #channels = new Set<string>();
  readonly #whenClosed: Promise<void>;
  #resolveClosed: () => void = noop;
  /** The credentials the server last accepted (or the configured ones): presented on every new connection. */
  #credentials: Credentials | TokenCredentials | undefined;
  /** A new token must be fetched (`getToken`) before the next connection. */
  #tokenStale = false;
  #refreshTimer: Timer | undefined;
  /** The last refused upgrade's Retry-After, ms: the next attempt waits at least this long. */
  #retryAfterMs: number | undefined;
  #WebSocket: WebSocketConstructor | undefined;
  #state: ConnectionState = "connecting";
  #url: string;
  #socket: SocketLike | undefined;
  /** The session is restored: requests go straight out instead of into the queue. */
  #ready = false;
  #closeRequested = false;
  /** A frame arrived since the last ping check. */
  #heard = false;
  #connectTimer: Timer | undefined;
  #replyTimer: Timer | undefined;
  #retryTimer: Timer | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: ClientOptions) {
    this.#options = resolveOptions(options);
    this.#policy = new ReconnectPolicy(this.#options.urls, this.#options.reconnect, this.#options.random);
    this.#queue = new SendQueue(this.#options.maxQueued);
    const { auth, token, getToken } = this.#options;
    this.#credentials = auth ?? (token === undefined ? undefined : { token });
    this.#tokenStale = getToken !== undefined && token === undefined;
    this.#WebSocket = this.#options.WebSocket;
    this.#url = this.#policy.url;
    this.#whenClosed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    // Deferred, so that listeners added right after construction see "connecting".
    queueMicrotask(() => {
      if (this.#closeRequested) return;
      this.#setState({ state: "connecting", url: this.#url });
      this.#connect();
    });
  }

  /** The connection state now; {@link onState} reports changes. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** The URL of the current connection, or of the attempt being made or scheduled. */
  get url(): string {
    return this.#url;
  }

  /** The channels the server confirmed and that are restored on reconnect, in order. */
  get subscriptions(): readonly string[] {
    return [...this.#channels];
  }

  /**
   * The position of the last message received on `channel` (or where its subscription
   * started): `{offset, epoch}`. Undefined for a channel without history, or not subscribed.
   */
  position(channel: string): Position | undefined {
    return this.#positions.get(channel);
  }

  /**
   * Calls `listener` when, after a reconnect, a channel was resubscribed and every message
   * missed meanwhile was delivered (before any newer one): nothing was lost.
   */
  onRecovered(listener: (event: RecoveryEvent) => void): () => void {
    return this.#recoveredListeners.add(listener);
  }

  /**
   * Calls `listener` when, after a reconnect, messages missed on a channel could not be
   * recovered (its history was lost or did not reach back far enough): live messages
   * continue from `position`, and the application should reload what it shows of the channel.
   */
  onGap(listener: (event: RecoveryEvent) => void): () => void {
    return this.#gapListeners.add(listener);
  }

  /** Number of requests waiting for a connection. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Calls `listener` on every state event; returns the function that removes it. */
  onState(listener: (change: StateChange) => void): () => void {
    return this.#stateListeners.add(listener);
  }

  /**
   * Calls `listener` with errors that belong to no request: a handler that threw, a session
   * that could not be fully restored after a reconnect, a frame the client does not
   * understand. Without any error listener such errors are thrown asynchronously, so that
   * they are never lost (in Node that ends the process, as an unhandled `error` event does).
   */
  onError(listener: (error: RocketError) => void): () => void {
    return this.#errorListeners.add(listener);
  }

  /**
   * Calls `listener` when the server unsubscribes the session from a channel: a refreshed
   * token no longer allows it (`reason` `access_denied`). The channel is no longer restored
   * on reconnect. Only sessions authenticated with a token receive this.
   */
  onUnsubscribed(listener: (event: Unsubscribed) => void): () => void {
    return this.#unsubscribedListeners.add(listener);
  }

  /**
   * Calls `handler` for every message delivered on `channel`, or only for those of `event`.
   * Handlers are independent of subscriptions: they stay until removed with the returned function.
   */
  on<T = unknown>(channel: string, handler: (message: Message<T>) => void): () => void;
  on<T = unknown>(channel: string, event: string, handler: (message: Message<T>) => void): () => void;
  on(channel: string, eventOrHandler: string | ((message: Message) => void), handler?: (message: Message) => void): () => void {
    if (typeof eventOrHandler === "function") return this.#handlers.add(channel, undefined, eventOrHandler);
    if (handler === undefined) throw new TypeError("on(channel, event, handler): handler missing");
    return this.#handlers.add(channel, eventOrHandler, handler);
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
        if ("ok" in reply) {
          this.#credentials = credentials;
          clearTimeout(this.#refreshTimer);
        } else if (reply.err === ErrorCode.InvalidCredentials) this.#credentials = undefined;
      },
    );
  }

  /** Drops the session's access; reconnects no longer authenticate. */
  logout(): Promise<void> {
    return this.#request(encodeCommand({ type: "logout" }), true, (reply) => {
      if ("ok" in reply) this.#credentials = undefined;
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
      if ("ok" in reply) {
        this.#channels.add(channel);
        this.#positions.set(channel, result.position);
      }
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
      if ("ok" in reply) {
        this.#channels.delete(channel);
        this.#positions.delete(channel);
      }
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
    if (!this.#ready) return Promise.reject(new RocketError(ClientErrorCode.NotConnected, "not connected"));
    const started = now();
    return new Promise((resolve, reject) => {
      this.#send({
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
    if (this.#closeRequested || this.#state === "closed") return this.#whenClosed;
    this.#closeRequested = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#refreshTimer);
    this.#failQueued(new RocketError(ClientErrorCode.Closed, "the client was closed before the request was sent"));
    const socket = this.#socket;
    if (socket === undefined) {
      this.#finish(1000, "closed by the client");
    } else if (socket.readyState === socketOpen) {
      // Sent after every open request: replies keep their order, so those are answered first.
      this.#send({
        frame: encodeCommand({ type: "disconnect" }),
        retry: false,
        internal: true,
        onReply: () => socket.close(1000, "disconnect"),
        onFail: noop,
      });
      const deadline = setTimeout(() => this.#drop(socket, "the server did not close in time"), this.#closeDeadlineMs());
      void this.#whenClosed.then(() => clearTimeout(deadline));
    } else {
      this.#drop(socket, "closed by the client");
    }
    return this.#whenClosed;
  }

  #closeDeadlineMs(): number {
    return Math.max(1000, this.#options.replyTimeoutMs);
  }

  #request<T = void>(frame: string, retry: boolean, onReply?: (reply: Reply, extras: FrameExtras) => T): Promise<T> {
    if (this.#closeRequested || this.#state === "closed") {
      return Promise.reject(new RocketError(ClientErrorCode.Closed, "the client is closed"));
    }
    return new Promise((resolve, reject) => {
      const request: Request = {
        frame,
        retry,
        internal: false,
        onReply: (reply, extras) => {
          const value = onReply?.(reply, extras) as T;
          if ("ok" in reply) resolve(value);
          else reject(new RocketError(reply.err, `the server refused the request: ${reply.err}`));
        },
        onFail: reject,
      };
      if (this.#ready) this.#send(request);
      else if (!this.#queue.push(request)) {
        reject(
          new RocketError(
            ClientErrorCode.QueueFull,
            `not connected, and ${this.#queue.limit} requests are already waiting for a connection`,
          ),
        );
      }
    });
  }

  #connect(): void {
    if (this.#needsToken()) {
      this.#fetchToken();
      return;
    }
    const WebSocket = this.#WebSocket ?? globalWebSocket();
    if (WebSocket !== undefined) {
      this.#open(WebSocket);
      return;
    }
    loadWebSocket().then(
      (loaded) => {
        this.#WebSocket = loaded;
        if (!this.#closeRequested) this.#open(loaded);
      },
      (error: RocketError) => {
        this.#reportError(error);
        this.#closeRequested = true;
        this.#finish(abnormalClosure, error.message);
      },
    );
  }

  #open(WebSocket: WebSocketConstructor): void {
    let socket: SocketLike;
    try {
      socket = new WebSocket(this.#url);
    } catch (error) {
      this.#lost(abnormalClosure, `cannot open ${this.#url}: ${(error as Error).message}`);
      return;
    }
    this.#socket = socket;
    this.#watchRefusal(socket);
    if (this.#options.connectTimeoutMs > 0) {
      this.#connectTimer = setTimeout(() => this.#drop(socket, "connect timeout"), this.#options.connectTimeoutMs);
    }
    socket.onopen = () => {
      if (this.#socket === socket) this.#restore(socket);
    };
    socket.onmessage = (event) => {
      if (this.#socket === socket) this.#receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#lost(event.code, event.reason);
    };
    // Every error is followed by a close event, which is where it is handled.
    socket.onerror = noop;
  }

  /** A fresh connection: authenticate and resubscribe, in order, then let the queue go. */
  #restore(socket: SocketLike): void {
    clearTimeout(this.#connectTimer);
    const steps: Request[] = [];
    let pending = 0;
    const stepDone = () => {
      if (--pending === 0 && this.#socket === socket) this.#becomeReady();
    };
    const refused = (code: ErrorCode, what: string): boolean => {
      if (code === ErrorCode.Unavailable) {
        // The node cannot reach its bus now; another attempt (maybe another node) may.
        this.#drop(socket, `restoring the session: ${what}: ${code}`);
        return true;
      }
      this.#reportError(new RocketError(code, `restoring the session after reconnecting: ${what} was refused: ${code}`));
      return false;
    };
    const credentials = this.#credentials;
    if (credentials !== undefined && "token" in credentials) {
      steps.push(
        this.#internal(encodeCommand({ type: "auth", token: credentials.token }), (reply) => {
          if ("ok" in reply) this.#scheduleRefresh(credentials.token);
          else if (this.#options.getToken !== undefined && reply.err !== ErrorCode.Unavailable) {
            // Refused: fetch another before the next attempt rather than go on without access.
            this.#reportError(new RocketError(reply.err, `the server refused the token: ${reply.err}`));
            this.#tokenStale = true;
            this.#drop(socket, `the token was refused: ${reply.err}`);
            return;
          } else if (refused(reply.err, "auth")) return;
          stepDone();
        }),
      );
    } else if (credentials !== undefined) {
      steps.push(
        this.#internal(encodeCommand({ type: "auth", access: credentials.access, secret: credentials.secret }), (reply) => {
          if ("err" in reply) {
            if (reply.err === ErrorCode.InvalidCredentials) this.#credentials = undefined;
            if (refused(reply.err, "auth")) return;
          }
          stepDone();
        }),
      );
    }
    for (const channel of this.#channels) {
      const since = this.#positions.get(channel) ?? {};
      steps.push(
        this.#internal(encodeCommand({ type: "subscribe", channel, since }), (reply, extras) => {
          if ("err" in reply) {
            if (refused(reply.err, `subscribe ${JSON.stringify(channel)}`)) return;
            this.#channels.delete(channel);
            this.#positions.delete(channel);
          } else this.#resubscribed(channel, subscribeResult(extras));
          stepDone();
        }),
      );
    }
    pending = steps.length;
    if (pending === 0) {
      this.#becomeReady();
      return;
    }
    for (const step of steps) {
      if (this.#socket !== socket) return;
      this.#send(step);
    }
  }

  /** A channel is back after a reconnect: note where it stands and say whether anything was lost. */
  #resubscribed(channel: string, result: SubscribeResult): void {
    this.#positions.set(channel, result.position);
    if (result.recovered === undefined) return;
    const event = { channel, position: result.position };
    const listeners = result.recovered ? this.#recoveredListeners : this.#gapListeners;
    listeners.emit(event, (error) => this.#handlerFailed(error));
  }

  #internal(frame: string, onReply: (reply: Reply, extras: FrameExtras) => void): Request {
    return { frame, retry: false, internal: true, onReply, onFail: noop };
  }

  #becomeReady(): void {
    const socket = this.#socket;
    this.#ready = true;
    this.#policy.reset();
    // Queued requests go before anything a state listener sends on "open": they are older.
    for (let request = this.#queue.shift(); request !== undefined; request = this.#queue.shift()) {
      this.#send(request);
      if (!this.#ready) return;
    }
    if (this.#options.pingIntervalMs > 0) {
      this.#heard = true;
      this.#pingTimer = setInterval(() => this.#idleCheck(), this.#options.pingIntervalMs);
    }
    if (this.#closeRequested || this.#socket !== socket) return;
    this.#setState({ state: "open", url: this.#url });
  }

  #idleCheck(): void {
    if (!this.#heard && this.#inFlight.length === 0) this.ping().catch(noop);
    this.#heard = false;
  }

  #send(request: Request): void {
    const socket = this.#socket;
    if (socket === undefined) throw new Error("internal error: sending without a socket");
    this.#inFlight.push(request);
    try {
      socket.send(request.frame);
    } catch {
      this.#drop(socket, "the socket refused to send");
      return;
    }
    if (this.#replyTimer === undefined) this.#armReplyTimer(socket);
  }

  /** The oldest open request must be answered within `replyTimeoutMs`, else the connection is dead. */
  #armReplyTimer(socket: SocketLike): void {
    if (this.#options.replyTimeoutMs <= 0) return;
    this.#replyTimer = setTimeout(() => this.#drop(socket, "no reply in time"), this.#options.replyTimeoutMs);
  }

  #receive(data: unknown): void {
    this.#heard = true;
    const frame = typeof data === "string" ? parseServerFrame(data) : undefined;
    if (frame === undefined) {
      this.#reportError(new RocketError(ClientErrorCode.BadFrame, "the server sent a frame that is not part of the protocol"));
      return;
    }
    if (frame.type === "delivery") {
      if (frame.delivery.event === ServerEvent.Unsubscribed && this.#usesToken()) {
        this.#unsubscribedByServer(frame.delivery);
        return;
      }
      const message = messageOf(frame.delivery, frame.extras);
      if (message.offset !== undefined && message.epoch !== undefined && this.#channels.has(message.channel)) {
        this.#positions.set(message.channel, { offset: message.offset, epoch: message.epoch });
      }
      this.#handlers.dispatch(message, (error) => this.#handlerFailed(error));
      return;
    }
    const request = this.#inFlight.shift();
    if (request === undefined) {
      this.#reportError(new RocketError(ClientErrorCode.BadFrame, "the server sent a reply to no request"));
      return;
    }
    clearTimeout(this.#replyTimer);
    this.#replyTimer = undefined;
    if (this.#inFlight.length > 0 && this.#socket !== undefined) this.#armReplyTimer(this.#socket);
    request.onReply(frame.reply, frame.extras);
  }

  /** Gives up on `socket` now, without waiting for a close handshake a dead peer would never finish. */
  #drop(socket: SocketLike, reason: string): void {
    if (this.#socket !== socket) return;
    socket.onopen = noop;
    socket.onmessage = noop;
    socket.onclose = noop;
    socket.onerror = noop;
    try {
      socket.close();
    } catch {
      // Already closed.
    }
    this.#lost(abnormalClosure, reason);
  }

  /** The connection ended (or never came up): settle open requests, then reconnect or finish. */
  #lost(closeCode: number, reason: string): void {
    this.#socket = undefined;
    this.#ready = false;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#replyTimer);
    clearInterval(this.#pingTimer);
    this.#replyTimer = undefined;
    const retry: Request[] = [];
    for (const request of this.#inFlight.splice(0)) {
      if (request.internal) continue;
      if (request.retry) retry.push(request);
      else {
        request.onFail(
          new RocketError(ClientErrorCode.ConnectionLost, "the connection dropped before the reply: the outcome is unknown", {
            closeCode,
          }),
        );
      }
    }
    this.#queue.unshift(retry);
    // An expired token: another one is needed first; without getToken there is none to be had.
    const expired = closeCode === CloseCode.TokenExpired;
    if (expired) this.#tokenStale = true;
    const cannot = expired && this.#options.getToken === undefined && this.#usesToken();
    let next = this.#closeRequested || cannot || !mayReconnect(closeCode) ? undefined : this.#policy.next();
    const retryAfter = this.#retryAfterMs;
    this.#retryAfterMs = undefined;
    if (next !== undefined && retryAfter !== undefined) {
      // The node asked to wait (too many new connections): at least that, spread over as long again.
      next = { ...next, delayMs: Math.max(next.delayMs, retryAfter + Math.floor(this.#options.random() * retryAfter)) };
    }
    if (next === undefined) {
      this.#finish(closeCode, reason);
      return;
    }
    this.#url = next.url;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#closeRequested) this.#connect();
    }, next.delayMs);
    this.#setState({
      state: "reconnecting",
      url: next.url,
      attempt: next.attempt,
      delayMs: next.delayMs,
      closeCode,
      reason,
    });
  }

  #finish(closeCode: number, reason: string): void {
    if (this.#state === "closed") return;
    this.#closeRequested = true;
    this.#ready = false;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#refreshTimer);
    this.#failQueued(new RocketError(ClientErrorCode.Closed, `the client closed: ${reason}`, { closeCode }));
    this.#setState({ state: "closed", url: this.#url, closeCode, reason });
    this.#resolveClosed();
  }

  #usesToken(): boolean {
    return this.#credentials !== undefined && "token" in this.#credentials;
  }

  /** Whether a token must be fetched before connecting: none yet, refused, or about to expire. */
  #needsToken(): boolean {
    if (this.#options.getToken === undefined) return false;
    if (this.#tokenStale) return true;
    const credentials = this.#credentials;
    if (credentials === undefined || !("token" in credentials)) return false;
    const expiresAt = tokenExpiry(credentials.token);
    return expiresAt !== undefined && expiresAt - Date.now() < 1000;
  }

  #fetchToken(): void {
    const getToken = this.#options.getToken;
    if (getToken === undefined) return;
    getToken().then(
      (token) => {
        if (this.#closeRequested) return;
        this.#credentials = { token };
        this.#tokenStale = false;
        this.#connect();
      },
      (cause: unknown) => {
        if (this.#closeRequested) return;
        this.#reportError(new RocketError(ClientErrorCode.TokenUnavailable, "getToken failed", { cause }));
        this.#lost(abnormalClosure, "getToken failed");
      },
    );
  }

  /** Presents a fresh token shortly before this one expires, keeping the session and its channels. */
  #scheduleRefresh(token: string): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    const getToken = this.#options.getToken;
    const expiresAt = tokenExpiry(token);
    if (getToken === undefined || expiresAt === undefined) return;
    const now = Date.now();
    this.#refreshTimer = setTimeout(() => this.#refresh(getToken), Math.max(0, expiresAt - refreshLeadMs(expiresAt, now) - now));
  }

  #refresh(getToken: () => Promise<string>): void {
    getToken().then(
      (token) => {
        if (this.#closeRequested) return;
        this.#credentials = { token };
        // Not connected: the next connection presents it.
        if (!this.#ready) return;
        this.#request(encodeCommand({ type: "auth", token }), true, (reply) => {
          if ("ok" in reply) this.#scheduleRefresh(token);
          else this.#tokenStale = true;
        }).catch((error: RocketError) => this.#reportError(error));
      },
      (cause: unknown) => {
        if (this.#closeRequested) return;
        this.#reportError(new RocketError(ClientErrorCode.TokenUnavailable, "getToken failed", { cause }));
        // Try again soon; past the expiry the server closes (4001) and reconnecting fetches one.
        this.#refreshTimer = setTimeout(() => this.#refresh(getToken), 1000);
      },
    );
  }

  #unsubscribedByServer(delivery: Delivery): void {
    this.#channels.delete(delivery.channel);
    this.#positions.delete(delivery.channel);
    const reason = (delivery.data as { reason?: unknown } | null)?.reason;
    this.#unsubscribedListeners.emit(
      { channel: delivery.channel, reason: typeof reason === "string" ? reason : "unknown" },
      (error) => this.#handlerFailed(error),
    );
  }

  /**
   * In Node with the `ws` package, an upgrade refused with 503 and Retry-After (a node taking
   * too many new connections) says how long to wait; browsers do not expose it, and the
   * jittered backoff is all there is.
   */
  #watchRefusal(socket: SocketLike): void {
    const emitter = socket as unknown as {
      on?: (event: string, listener: (request: unknown, response: { headers?: Record<string, unknown> }) => void) => void;
      terminate?: () => void;
    };
    if (typeof emitter.on !== "function" || typeof emitter.terminate !== "function") return;
    emitter.on("unexpected-response", (_request, response) => {
      if (this.#socket === socket) this.#retryAfterMs = retryAfterMs(response.headers?.["retry-after"]);
      // With this listener ws leaves the refused handshake to us: end it, which reports a close (1006).
      emitter.terminate?.();
    });
  }

  #failQueued(error: RocketError): void {
    for (const request of this.#queue.drain()) request.onFail(error);
  }

  #setState(change: StateChange): void {
    this.#state = change.state;
    this.#stateListeners.emit(change, (error) => this.#handlerFailed(error));
  }

  #handlerFailed(cause: unknown): void {
    this.#reportError(new RocketError(ClientErrorCode.HandlerFailed, "a handler threw", { cause }));
  }

  #reportError(error: RocketError): void {
    const rethrow = (thrown: unknown) =>
      queueMicrotask(() => {
        throw thrown;
      });
    if (this.#errorListeners.size === 0) rethrow(error);
    else this.#errorListeners.emit(error, rethrow);
  }
}

/** A delivery as handlers get it: with its position on a channel with history. */
function messageOf(delivery: Message, extras: FrameExtras): Message {
  const position = positionOf(extras);
  return position === undefined ? delivery : { ...delivery, offset: position.offset, epoch: position.epoch };
}
