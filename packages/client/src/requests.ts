import type { FrameExtras, Reply } from "@rocket/protocol";
import { ClientErrorCode, RocketError } from "./errors.js";
import { SendQueue } from "./send-queue.js";
import type { SocketLike } from "./transport.js";

/** A request waiting for its reply (or for a connection). */
export interface Request {
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

/** What the requests need of the connection they go out on. */
export interface RequestLink {
  /** The current socket, while there is one. */
  readonly socket: SocketLike | undefined;
  /** The session is restored: requests go straight out instead of into the queue. */
  readonly ready: boolean;
  /** The client is closed or closing: new requests are refused. */
  readonly closing: boolean;
  /** Gives up on `socket` (it refused to send, or a reply is overdue). */
  drop(socket: SocketLike, reason: string): void;
}

const noop = (): void => {};

/** A request the client sends for itself: no promise, discarded with its connection. */
export function internalRequest(frame: string, onReply: (reply: Reply, extras: FrameExtras) => void): Request {
  return { frame, retry: false, internal: true, onReply, onFail: noop };
}

/**
 * Requests and their replies: the ones sent, oldest first (replies come back in request
 * order, which is how they are matched), and the ones waiting for a connection. The oldest
 * open request must be answered within `replyTimeoutMs`, else the connection is dead.
 */
export class Requests {
  readonly #link: RequestLink;
  readonly #replyTimeoutMs: number;
  readonly #queue: SendQueue<Request>;
  /** Sent requests, oldest first: the next reply belongs to the first. */
  readonly #inFlight: Request[] = [];
  #replyTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(link: RequestLink, replyTimeoutMs: number, maxQueued: number) {
    this.#link = link;
    this.#replyTimeoutMs = replyTimeoutMs;
    this.#queue = new SendQueue(maxQueued);
  }

  /** Number of requests waiting for a connection. */
  get queued(): number {
    return this.#queue.size;
  }

  /** No request is waiting for its reply. */
  get idle(): boolean {
    return this.#inFlight.length === 0;
  }

  /** Sends `frame` now or once connected; resolves with what `onReply` makes of an ok, rejects on an error reply. */
  request<T = void>(frame: string, retry: boolean, onReply?: (reply: Reply, extras: FrameExtras) => T): Promise<T> {
    if (this.#link.closing) return Promise.reject(new RocketError(ClientErrorCode.Closed, "the client is closed"));
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
      if (this.#link.ready) this.send(request);
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

  /** Sends `request` on the current socket. */
  send(request: Request): void {
    const socket = this.#link.socket;
    if (socket === undefined) throw new Error("internal error: sending without a socket");
    this.#inFlight.push(request);
    try {
      socket.send(request.frame);
    } catch {
      this.#link.drop(socket, "the socket refused to send");
      return;
    }
    if (this.#replyTimer === undefined) this.#armReplyTimer(socket);
  }

  /** Sends the queued requests, oldest first, while the connection stays ready. */
  sendQueued(): void {
    for (let request = this.#queue.shift(); request !== undefined; request = this.#queue.shift()) {
      this.send(request);
      if (!this.#link.ready) return;
    }
  }

  /** A reply: settles the oldest request. False when no request was waiting for it. */
  reply(reply: Reply, extras: FrameExtras): boolean {
    const request = this.#inFlight.shift();
    if (request === undefined) return false;
    clearTimeout(this.#replyTimer);
    this.#replyTimer = undefined;
    const socket = this.#link.socket;
    if (this.#inFlight.length > 0 && socket !== undefined) this.#armReplyTimer(socket);
    request.onReply(reply, extras);
    return true;
  }

  /**
   * The connection ended: the client's own requests are discarded, those that may run again
   * go back to the front of the queue, the others (publishes) fail with `connection_lost`.
   */
  lost(closeCode: number): void {
    clearTimeout(this.#replyTimer);
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
  }

  /** Rejects every queued request with `error`. */
  failQueued(error: RocketError): void {
    for (const request of this.#queue.drain()) request.onFail(error);
  }

  #armReplyTimer(socket: SocketLike): void {
    if (this.#replyTimeoutMs <= 0) return;
    this.#replyTimer = setTimeout(() => this.#link.drop(socket, "no reply in time"), this.#replyTimeoutMs);
  }
}
