import type { ErrorCode } from "@rocket/protocol";

/**
 * Codes of the errors the client raises itself, next to the server's {@link ErrorCode}s
 * (`invalid_data`, `invalid_credentials`, `invalid_channel_name`, `invalid_channel`,
 * `access_denied`, `unavailable`, `token_expired`, `rate_limited`, `limit_exceeded`).
 */
export const ClientErrorCode = {
  /** The connection dropped after the request was sent: its outcome is unknown (a publish may have been delivered). */
  ConnectionLost: "connection_lost",
  /** The client was not connected and its send queue was full (`maxQueued`): the request was not taken. */
  QueueFull: "queue_full",
  /** The client is closed (by `close()`, a server close code that forbids reconnecting, or no attempts left). */
  Closed: "closed",
  /** `ping()` while the connection is not open: pings are never queued. */
  NotConnected: "not_connected",
  /** The server sent a frame that is neither a reply nor a delivery, or a reply nobody asked for. */
  BadFrame: "bad_frame",
  /** A message handler or a state listener threw; `cause` holds what it threw. */
  HandlerFailed: "handler_failed",
  /** No WebSocket in this runtime and the optional `ws` package is not installed. */
  NoWebSocket: "no_websocket",
  /** `getToken` rejected; `cause` holds why. The client tries again (with backoff, or before the token expires). */
  TokenUnavailable: "token_unavailable",
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Every code a {@link RocketError} can carry. A newer server may send codes not listed here. */
export type RocketErrorCode = ErrorCode | ClientErrorCode;

export interface RocketErrorOptions {
  readonly cause?: unknown;
  /** The WebSocket close code, when the error comes from a closed connection. */
  readonly closeCode?: number;
}

/**
 * The one error class of the client. `code` tells what happened: a server error code when
 * the server answered `{"err":code}`, a {@link ClientErrorCode} otherwise.
 */
export class RocketError extends Error {
  readonly code: RocketErrorCode;
  readonly closeCode: number | undefined;

  constructor(code: RocketErrorCode, message?: string, options: RocketErrorOptions = {}) {
    super(message ?? code, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RocketError";
    this.code = code;
    this.closeCode = options.closeCode;
  }
}
