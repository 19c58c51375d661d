import { ErrorCode } from "./codes.js";
import type { PresenceUser, StreamPosition } from "./commands.js";
import { rawMembers } from "./json-members.js";

/**
 * The server API (HTTP, under `/api/`, for the application's backends): the paths, the
 * bodies each takes and answers, its error codes and limits, and the decoding of request
 * bodies. The gateway serves it; `@rocket/server` calls it; both take their types from here.
 */
export const ApiPath = {
  Publish: "/api/publish",
  Batch: "/api/batch",
  Channels: "/api/channels",
  Presence: "/api/presence",
  Disconnect: "/api/disconnect",
} as const;
export type ApiPath = (typeof ApiPath)[keyof typeof ApiPath];

/**
 * Error codes of the API's `{"err":"<code>"}` bodies: the protocol's where they fit
 * (`invalid_data`, `invalid_channel_name`, `limit_exceeded`, `unavailable`), and four of
 * HTTP's own.
 */
export const ApiErrorCode = {
  InvalidData: ErrorCode.InvalidData,
  InvalidChannelName: ErrorCode.InvalidChannelName,
  LimitExceeded: ErrorCode.LimitExceeded,
  Unavailable: ErrorCode.Unavailable,
  /** 401: no `Authorization: Bearer <key>` header, or a key that is not one of `ApiKeys`. */
  Unauthorized: "unauthorized",
  /** 413: the body is over the endpoint's limit. */
  PayloadTooLarge: "payload_too_large",
  /** 404: no such endpoint, or no such hub. */
  NotFound: "not_found",
  /** 405: the endpoint does not take this method. */
  MethodNotAllowed: "method_not_allowed",
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

/** Every API error code, for documentation checks. */
export const apiErrorCodes: readonly ApiErrorCode[] = Object.values(ApiErrorCode);

/** The HTTP status of each API error code. */
export const apiErrorStatus: Readonly<Record<ApiErrorCode, number>> = {
  invalid_data: 400,
  invalid_channel_name: 400,
  limit_exceeded: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unavailable: 503,
};

/** `POST /api/batch` takes at most this many publications… */
export const maxBatchPublications = 100;
/** …in a body of at most this many bytes (`POST /api/publish` takes `MaxPayloadBytes`). */
export const maxBatchBodyBytes = 1024 * 1024;

/** The hub a request without `hub` means. */
export const defaultApiHub = "/";

/** An error body. */
export interface ApiError {
  readonly err: ApiErrorCode;
}

/** One publication: `POST /api/publish`'s body, or one item of a batch. */
export interface ApiPublication {
  /** Default `/`. */
  readonly hub?: string;
  readonly channel: string;
  readonly event: string;
  /** Any JSON value, delivered as written; absent: `null`. */
  readonly data?: unknown;
}

/** What a publish answers: ok (with the message's position on a channel with history), or an error. */
export type ApiPublishResult = ({ readonly ok: true } & Partial<StreamPosition>) | ApiError;

/** `POST /api/batch`'s body. */
export interface ApiBatchRequest {
  readonly publications: readonly ApiPublication[];
}

/** `POST /api/batch`'s answer: one result per publication, in order. */
export interface ApiBatchResponse {
  readonly ok: true;
  readonly results: readonly ApiPublishResult[];
}

/** One channel of `GET /api/channels`: its subscribers (connections), cluster-wide. */
export interface ApiChannel {
  readonly channel: string;
  readonly subscribers: number;
}

/** `GET /api/channels?hub=/&prefix=P`: the channels with at least one subscriber, by name. */
export interface ApiChannelsResponse {
  readonly ok: true;
  readonly channels: readonly ApiChannel[];
}

/** `GET /api/presence?hub=/&channel=C`: the users subscribed to C, cluster-wide. */
export interface ApiPresenceResponse {
  readonly ok: true;
  readonly users: readonly PresenceUser[];
}

/** `POST /api/disconnect`'s body. */
export interface ApiDisconnectRequest {
  /** Default `/`. */
  readonly hub?: string;
  /** The user (token `sub`) whose every connection is closed, on every node. */
  readonly user: string;
}

/** `POST /api/disconnect`'s answer: how many connections were closed. */
export interface ApiDisconnectResponse {
  readonly ok: true;
  readonly closed: number;
}

/** A publication as the gateway takes it: checked for shape, `data` as the sender's JSON text. */
export interface DecodedPublication {
  readonly hub: string;
  /** Not checked against the channel name rules yet. */
  readonly channel: string;
  readonly event: string;
  readonly dataJson: string;
}

/** A decoded body, or the error to answer. */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly err: ApiErrorCode };

const invalid = { ok: false, err: ApiErrorCode.InvalidData } as const;

function parseObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isObject(value) ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function publication(body: unknown, dataJson: string | undefined): Decoded<DecodedPublication> {
  if (!isObject(body)) return invalid;
  const { hub = defaultApiHub, channel, event } = body;
  if (typeof hub !== "string" || typeof event !== "string" || event === "") return invalid;
  if (typeof channel !== "string") return invalid;
  const json = body.data === undefined ? "null" : (dataJson ?? JSON.stringify(body.data));
  return { ok: true, value: { hub, channel, event, dataJson: json } };
}

/** Decodes `POST /api/publish`'s body. */
export function decodeApiPublish(text: string): Decoded<DecodedPublication> {
  const body = parseObject(text);
  if (body === undefined) return invalid;
  // JSON.parse keeps the last of duplicate keys: so does this.
  const data = rawMembers(text, "data", 1)
    .filter((m) => m.path.length === 1)
    .pop();
  return publication(body, data?.text.trim());
}

/**
 * Decodes `POST /api/batch`'s body: the body's shape as a whole (an error for all), then each
 * publication on its own (an error for that one).
 */
export function decodeApiBatch(text: string): Decoded<readonly Decoded<DecodedPublication>[]> {
  const body = parseObject(text);
  if (body === undefined || !Array.isArray(body.publications)) return invalid;
  const items = body.publications as unknown[];
  if (items.length > maxBatchPublications) return { ok: false, err: ApiErrorCode.LimitExceeded };
  const data = new Map<unknown, string>();
  for (const m of rawMembers(text, "data", 3))
    if (m.path.length === 3 && m.path[0] === "publications") data.set(m.path[1], m.text);
  return { ok: true, value: items.map((item, i) => publication(item, data.get(i)?.trim())) };
}

/** Decodes `POST /api/disconnect`'s body. */
export function decodeApiDisconnect(text: string): Decoded<{ readonly hub: string; readonly user: string }> {
  const body = parseObject(text);
  if (body === undefined) return invalid;
  const { hub = defaultApiHub, user } = body;
  if (typeof hub !== "string" || typeof user !== "string" || user === "") return invalid;
  return { ok: true, value: { hub, user } };
}

/**
 * Webhook events: a channel gained its first subscriber anywhere in the cluster
 * (`channel_occupied`) or lost its last (`channel_vacated`); on a channel with Presence, a
 * user's first connection subscribed (`join`) or its last left (`leave`).
 */
export const webhookEvents = ["channel_occupied", "channel_vacated", "join", "leave"] as const;
export type WebhookEventName = (typeof webhookEvents)[number];

/** One event of a webhook body. */
export interface WebhookEvent {
  readonly name: WebhookEventName;
  readonly hub: string;
  readonly channel: string;
  /** The user (token `sub`): `join` and `leave` only. */
  readonly user?: string;
}

/** The body of a webhook POST: when it was sent (epoch ms) and the events, oldest first. */
export interface WebhookBody {
  readonly time_ms: number;
  readonly events: readonly WebhookEvent[];
}

/** The header carrying `sha256=<hex HMAC-SHA256 of the raw body, keyed with Webhooks.Secret>`. */
export const webhookSignatureHeader = "X-Rocket-Signature";
