import type { ErrorCode } from "./codes.js";
import type { Access } from "./credentials.js";

/** `{"auth":{"access":"read-only"|"read-write","secret":"S"}}`: webrocket's shared secrets. */
export interface SecretAuthCommand {
  readonly type: "auth";
  readonly access: Access;
  readonly secret: string;
}

/** A position in a channel's history: the offset of a message and the epoch (life of the history) it belongs to. */
export interface StreamPosition {
  readonly offset: number;
  readonly epoch: string;
}

/** `{"auth":{"token":"JWT"}}`: a token signed by the application's backend (Rocket's addition). */
export interface TokenAuthCommand {
  readonly type: "auth";
  readonly token: string;
}

/** Either form of `auth`; tell them apart with `"token" in command`. */
export type AuthCommand = SecretAuthCommand | TokenAuthCommand;

/**
 * `since` of a subscribe: `{}` asks for the channel's current position, `{"offset":N,"epoch":"E"}`
 * for every message after that position (recovery).
 */
export type Since = { readonly offset?: undefined } | StreamPosition;

/**
 * `{"subscribe":{"channel":"C"}}`, optionally with `"since":{…}`. `channel` is kept as sent
 * (possibly not a string): the access check comes before the name check, as in webrocket.
 */
export interface SubscribeCommand {
  readonly type: "subscribe";
  readonly channel: unknown;
  /** Present when the client asked for a position or for recovery. */
  readonly since?: Since;
}

/**
 * `{"history":{"channel":"C","limit":L,"since":{"offset":N,"epoch":"E"}}}`: the last `limit`
 * messages of a channel with history (or those after `since`), and its position.
 */
export interface HistoryCommand {
  readonly type: "history";
  readonly channel: unknown;
  /** Most messages wanted; absent: as many as the channel keeps. */
  readonly limit?: number;
  readonly since?: StreamPosition;
}

/**
 * `{"presence":{"channel":"C"}}`: the users (tokens' `sub`) subscribed to a channel with
 * Presence, cluster-wide, with their connection counts.
 */
export interface PresenceCommand {
  readonly type: "presence";
  readonly channel: unknown;
}

/** `{"unsubscribe":{"channel":"C"}}` */
export interface UnsubscribeCommand {
  readonly type: "unsubscribe";
  readonly channel: unknown;
}

/** `{"publish":{"event":"E","channel":"C","data":...}}`; `data` defaults to `null`. */
export interface PublishCommand {
  readonly type: "publish";
  readonly event: string;
  readonly channel: string;
  readonly data: unknown;
  /** `data` as the exact JSON text the client sent, so it reaches subscribers unchanged. */
  readonly dataJson: string;
}

/** `{"logout":true}`: drop the session's access. */
export interface LogoutCommand {
  readonly type: "logout";
}

/** `{"disconnect":true}`: reply ok, then the server closes the socket. */
export interface DisconnectCommand {
  readonly type: "disconnect";
}

/** Every frame a client may send. */
export type Command =
  | AuthCommand
  | SubscribeCommand
  | UnsubscribeCommand
  | PublishCommand
  | LogoutCommand
  | DisconnectCommand
  | HistoryCommand
  | PresenceCommand;

export type CommandType = Command["type"];

/** The command names, in protocol-table order (for metrics labels and docs). */
export const commandTypes: readonly CommandType[] = [
  "auth",
  "subscribe",
  "unsubscribe",
  "publish",
  "logout",
  "disconnect",
  "history",
  "presence",
];

/** A frame that could not be decoded into a command. */
export interface DecodeError {
  readonly type: "error";
  readonly code: ErrorCode;
  /** Why, for metrics and logs: too deep, not UTF-8, not JSON, or not a command's shape. */
  readonly reason: "depth" | "utf8" | "json" | "shape";
}

/** What `decode` returns: a command, or the error to reply with. */
export type Decoded = Command | DecodeError;

/** Replies: `{"ok":true}` or `{"err":"code"}`. */
export type Reply = { readonly ok: true } | { readonly err: ErrorCode };

/** One user of a channel with Presence: its id (a token's `sub`) and its connections subscribed to the channel. */
export interface PresenceUser {
  readonly user: string;
  readonly connections: number;
}

/** The frame every subscriber of a channel receives. */
export interface Delivery {
  readonly event: string;
  readonly channel: string;
  readonly data: unknown;
}

/** Fails to compile when a switch over commands misses a case. */
export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
