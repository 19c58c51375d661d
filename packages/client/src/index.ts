export { type BackoffOptions, backoffDelay } from "./backoff.js";
export { type ConnectionState, RocketClient, type StateChange, type Unsubscribed } from "./client.js";
export { ClientErrorCode, RocketError, type RocketErrorCode, type RocketErrorOptions } from "./errors.js";
export type { Credentials, Message } from "./frames.js";
export type { ClientOptions } from "./options.js";
export type { Position, RecoveryEvent, SubscribeResult } from "./positions.js";
export { mayReconnect, type ReconnectOptions } from "./reconnect.js";
export { refreshLeadMs, tokenExpiry } from "./token.js";
export type { SocketLike, WebSocketConstructor } from "./transport.js";
