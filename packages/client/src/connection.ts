import { CloseCode, ErrorCode, encodeCommand, parseServerFrame, type Reply } from "@rocket/protocol";
import type { ErrorReporter } from "./error-reporter.js";
import { ClientErrorCode, RocketError } from "./errors.js";
import { Listeners } from "./listeners.js";
import type { ResolvedOptions } from "./options.js";
import { subscribeResult } from "./positions.js";
import { mayReconnect, ReconnectPolicy } from "./reconnect.js";
import { internalRequest, type Request, type RequestLink, Requests } from "./requests.js";
import type { Subscriptions } from "./subscriptions.js";
import { retryAfterMs } from "./token.js";
import { type TokenHost, TokenKeeper } from "./token-keeper.js";
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

type Timer = ReturnType<typeof setTimeout>;

const noop = (): void => {};
/** Close code reported when the client itself gave up on a connection. */
const abnormalClosure = 1006;

/**
 * A client's connection over its life: connecting (with a token fetched first when one is
 * needed), restoring the session on each new socket (credentials, then every channel, in
 * order, before anything queued goes out), idle pings, and reconnecting with backoff when
 * it drops, until closed for good.
 */
export class Connection implements RequestLink, TokenHost {
  readonly requests: Requests;
  readonly tokens: TokenKeeper;
  readonly states = new Listeners<StateChange>();
  readonly #options: ResolvedOptions;
  readonly #policy: ReconnectPolicy;
  readonly #channels: Subscriptions;
  readonly #errors: ErrorReporter;
  /** A request that changes nothing, for the idle check. */
  readonly #ping: () => Promise<unknown>;
  readonly whenClosed: Promise<void>;
  #resolveClosed: () => void = noop;
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
  #retryTimer: Timer | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: ResolvedOptions, channels: Subscriptions, errors: ErrorReporter, ping: () => Promise<unknown>) {
    this.#options = options;
    this.#channels = channels;
    this.#errors = errors;
    this.#ping = ping;
    this.#policy = new ReconnectPolicy(options.urls, options.reconnect, options.random);
    this.requests = new Requests(this, options.replyTimeoutMs, options.maxQueued);
    this.tokens = new TokenKeeper(options, this);
    this.#WebSocket = options.WebSocket;
    this.#url = this.#policy.url;
    this.whenClosed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    // Deferred, so that listeners added right after construction see "connecting".
    queueMicrotask(() => {
      if (this.#closeRequested) return;
      this.#setState({ state: "connecting", url: this.#url });
      this.connect();
    });
  }

  get state(): ConnectionState {
    return this.#state;
  }
  get url(): string {
    return this.#url;
  }
  get socket(): SocketLike | undefined {
    return this.#socket;
  }
  get ready(): boolean {
    return this.#ready;
  }
  get closing(): boolean {
    return this.#closeRequested || this.#state === "closed";
  }

  report(error: RocketError): void {
    this.#errors.report(error);
  }

  request(frame: string, onReply: (reply: Reply) => void): Promise<void> {
    return this.requests.request(frame, true, onReply);
  }

  failed(reason: string): void {
    this.#lost(abnormalClosure, reason);
  }

  connect(): void {
    if (this.tokens.needsToken()) {
      this.tokens.fetch();
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
        this.#errors.report(error);
        this.#closeRequested = true;
        this.#finish(abnormalClosure, error.message);
      },
    );
  }

  /**
   * Closes for good: waits for the replies to requests already sent, says
   * `{"disconnect":true}` and resolves once the socket closed. Queued requests are rejected
   * with `closed`. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.closing) return this.whenClosed;
    this.#closeRequested = true;
    clearTimeout(this.#retryTimer);
    this.tokens.stop();
    this.requests.failQueued(new RocketError(ClientErrorCode.Closed, "the client was closed before the request was sent"));
    const socket = this.#socket;
    if (socket === undefined) {
      this.#finish(1000, "closed by the client");
    } else if (socket.readyState === socketOpen) {
      // Sent after every open request: replies keep their order, so those are answered first.
      this.requests.send({
        frame: encodeCommand({ type: "disconnect" }),
        retry: false,
        internal: true,
        onReply: () => socket.close(1000, "disconnect"),
        onFail: noop,
      });
      const deadline = setTimeout(
        () => this.drop(socket, "the server did not close in time"),
        Math.max(1000, this.#options.replyTimeoutMs),
      );
      void this.whenClosed.then(() => clearTimeout(deadline));
    } else {
      this.drop(socket, "closed by the client");
    }
    return this.whenClosed;
  }

  /** Gives up on `socket` now, without waiting for a close handshake a dead peer would never finish. */
  drop(socket: SocketLike, reason: string): void {
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
      this.#connectTimer = setTimeout(() => this.drop(socket, "connect timeout"), this.#options.connectTimeoutMs);
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
    const { tokens } = this;
    const steps: Request[] = [];
    let pending = 0;
    const stepDone = () => {
      if (--pending === 0 && this.#socket === socket) this.#becomeReady();
    };
    const refused = (code: ErrorCode, what: string): boolean => {
      if (code === ErrorCode.Unavailable) {
        // The node cannot reach its bus now; another attempt (maybe another node) may.
        this.drop(socket, `restoring the session: ${what}: ${code}`);
        return true;
      }
      this.#errors.report(new RocketError(code, `restoring the session after reconnecting: ${what} was refused: ${code}`));
      return false;
    };
    const credentials = tokens.credentials;
    if (credentials !== undefined && "token" in credentials) {
      steps.push(
        internalRequest(encodeCommand({ type: "auth", token: credentials.token }), (reply) => {
          if ("ok" in reply) tokens.scheduleRefresh(credentials.token);
          else if (this.#options.getToken !== undefined && reply.err !== ErrorCode.Unavailable) {
            // Refused: fetch another before the next attempt rather than go on without access.
            this.#errors.report(new RocketError(reply.err, `the server refused the token: ${reply.err}`));
            tokens.stale = true;
            this.drop(socket, `the token was refused: ${reply.err}`);
            return;
          } else if (refused(reply.err, "auth")) return;
          stepDone();
        }),
      );
    } else if (credentials !== undefined) {
      steps.push(
        internalRequest(encodeCommand({ type: "auth", access: credentials.access, secret: credentials.secret }), (reply) => {
          if ("err" in reply) {
            if (reply.err === ErrorCode.InvalidCredentials) tokens.credentials = undefined;
            if (refused(reply.err, "auth")) return;
          }
          stepDone();
        }),
      );
    }
    for (const [channel, since] of this.#channels.restoring()) {
      steps.push(
        internalRequest(encodeCommand({ type: "subscribe", channel, since }), (reply, extras) => {
          if ("err" in reply) {
            if (refused(reply.err, `subscribe ${JSON.stringify(channel)}`)) return;
            this.#channels.left(channel);
          } else this.#channels.resubscribed(channel, subscribeResult(extras));
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
      this.requests.send(step);
    }
  }

  #becomeReady(): void {
    const socket = this.#socket;
    this.#ready = true;
    this.#policy.reset();
    // Queued requests go before anything a state listener sends on "open": they are older.
    this.requests.sendQueued();
    if (!this.#ready) return;
    if (this.#options.pingIntervalMs > 0) {
      this.#heard = true;
      this.#pingTimer = setInterval(() => this.#idleCheck(), this.#options.pingIntervalMs);
    }
    if (this.#closeRequested || this.#socket !== socket) return;
    this.#setState({ state: "open", url: this.#url });
  }

  #idleCheck(): void {
    if (!this.#heard && this.requests.idle) this.#ping().catch(noop);
    this.#heard = false;
  }

  #receive(data: unknown): void {
    this.#heard = true;
    const frame = typeof data === "string" ? parseServerFrame(data) : undefined;
    if (frame === undefined) {
      this.#errors.report(new RocketError(ClientErrorCode.BadFrame, "the server sent a frame that is not part of the protocol"));
      return;
    }
    if (frame.type === "delivery") {
      this.#channels.deliver(frame.delivery, frame.extras, this.tokens.usesToken);
      return;
    }
    if (!this.requests.reply(frame.reply, frame.extras)) {
      this.#errors.report(new RocketError(ClientErrorCode.BadFrame, "the server sent a reply to no request"));
    }
  }

  /** The connection ended (or never came up): settle open requests, then reconnect or finish. */
  #lost(closeCode: number, reason: string): void {
    this.#socket = undefined;
    this.#ready = false;
    clearTimeout(this.#connectTimer);
    clearInterval(this.#pingTimer);
    this.requests.lost(closeCode);
    // An expired token: another one is needed first; without getToken there is none to be had.
    const expired = closeCode === CloseCode.TokenExpired;
    if (expired) this.tokens.stale = true;
    const cannot = expired && this.#options.getToken === undefined && this.tokens.usesToken;
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
      if (!this.#closeRequested) this.connect();
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
    this.tokens.stop();
    this.requests.failQueued(new RocketError(ClientErrorCode.Closed, `the client closed: ${reason}`, { closeCode }));
    this.#setState({ state: "closed", url: this.#url, closeCode, reason });
    this.#resolveClosed();
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

  #setState(change: StateChange): void {
    this.#state = change.state;
    this.states.emit(change, (error) => this.#errors.handlerFailed(error));
  }
}
