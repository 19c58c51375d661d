/**
 * Error codes carried in `{"err":"<code>"}` replies. The first five are webrocket v0.2's
 * and mean exactly what they meant there; the rest are Rocket's additions, sent only in
 * situations webrocket had no answer for.
 */
export const ErrorCode = {
  /** The frame is not JSON, not an object, of unknown shape, too deeply nested, or a field has the wrong type. */
  InvalidData: "invalid_data",
  /** The secret does not match the hub's secret for the requested access level. */
  InvalidCredentials: "invalid_credentials",
  /** The channel name is empty, longer than 255 UTF-8 bytes, not a string, or holds control characters. */
  InvalidChannelName: "invalid_channel_name",
  /** A publish names a channel that nobody, on any node, has ever subscribed to. */
  InvalidChannel: "invalid_channel",
  /** The session's access level does not allow the command. */
  AccessDenied: "access_denied",
  /**
   * Rocket: the message bus (Redis) did not confirm the operation in time. The outcome is
   * unknown: a publish answered this way may still have been delivered, so a retry may duplicate.
   */
  Unavailable: "unavailable",
  /**
   * Rocket: the token given to `auth` has expired (its `exp`, plus the hub's leeway, has
   * passed). The session now has no access; authenticate again with a fresh token.
   */
  TokenExpired: "token_expired",
  /**
   * Rocket: the connection sent commands (or publishes) faster than the gateway allows
   * (`MaxCommandsPerSecond`, `MaxPublishesPerSecond`). The command did nothing; slow down.
   */
  RateLimited: "rate_limited",
  /**
   * Rocket: a subscribe would take the connection past `MaxSubscriptionsPerConnection`. The
   * subscribe did nothing; unsubscribe from something first.
   */
  LimitExceeded: "limit_exceeded",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Every error code, for documentation checks and exhaustive tables. */
export const errorCodes: readonly ErrorCode[] = Object.values(ErrorCode);

/**
 * WebSocket close codes the server sends. Codes 4000–4499 mean "reconnect is fine",
 * 4500–4999 mean "do not reconnect without changing something" (the credentials, say).
 */
export const CloseCode = {
  /** The client sent `{"disconnect":true}`; the server closes after the `{"ok":true}` reply. */
  Normal: 1000,
  /** The node is shutting down (drain); reconnect, the load balancer sends you elsewhere. */
  GoingAway: 1001,
  /** A message was larger than the hub's `maxPayloadBytes`. */
  MessageTooBig: 1009,
  /** The client did not read fast enough: more than `maxBackpressureBytes` were queued for it. */
  SlowConsumer: 4008,
  /**
   * The token the session authenticated with expired and was not refreshed in time.
   * Reconnect with a fresh token.
   */
  TokenExpired: 4001,
  /**
   * The client kept sending far past its rate limit after being answered `rate_limited`.
   * Reconnect later, and send slower.
   */
  RateLimitExceeded: 4029,
  /**
   * Too many failed `auth` attempts on one connection (`MaxAuthFailures`). Do not reconnect
   * without changing the credentials.
   */
  TooManyAuthFailures: 4501,
  /**
   * The application's backend closed every connection of this user (`POST /api/disconnect`).
   * Do not reconnect without changing something: a new token, say, once the backend allows it.
   */
  DisconnectedByApplication: 4503,
  /**
   * History lost on a channel this connection subscribed to (Redis lost it, or the node
   * missed more than the channel keeps): reconnect and resubscribe with `since`; the reply
   * says `"recovered":false`.
   */
  HistoryLost: 4010,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Every close code, for documentation checks. */
export const closeCodes: readonly CloseCode[] = Object.values(CloseCode);
