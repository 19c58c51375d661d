import { closeCodes } from "./codes.js";

/**
 * WebSocket close codes that keep their own value of the `code` label on
 * `rocket_connections_closed_total`; every other code is counted as `other`. Clients may
 * close with any code in 1000–4999, so taking codes as they come would let them grow the
 * number of series without bound. Kept: every code the server sends (`CloseCode`), plus
 * the ones clients and networks produce: 1005 (closed without a status), 1006 (no close
 * frame: the connection just ended), 1007 (invalid UTF-8 in a text frame), 1008 (policy) and
 * 1011 (an error on the client's side).
 */
export const closeCodeLabels: readonly number[] = [...new Set<number>([...closeCodes, 1005, 1006, 1007, 1008, 1011])].sort(
  (a, b) => a - b,
);
export type CloseCodeLabel = `${number}` | "other";

const labelled = new Map<number, CloseCodeLabel>(closeCodeLabels.map((code) => [code, `${code}` as const]));

/** The `code` label for a close code: the code itself when listed in {@link closeCodeLabels}, else `other`. */
export function closeCodeLabel(code: number): CloseCodeLabel {
  return labelled.get(code) ?? "other";
}

/**
 * Values of the `limit` label on `rocket_limit_breaches_total`: the configured limit a
 * connection ran into. Each breach is also answered on the wire, by a reply or a close code.
 */
export const LimitLabel = {
  /** A message larger than the hub's `MaxPayloadBytes`; closed with 1009. */
  Payload: "payload",
  /** A frame nested deeper than `MaxDepth`; answered `invalid_data`. */
  Depth: "depth",
  /** A channel name that is too long or holds control characters; answered `invalid_channel_name`. */
  ChannelName: "channel_name",
  /** More than `MaxBackpressureBytes` queued for a client that does not read; closed with 4008. */
  Backpressure: "backpressure",
  /** A subscribe past `MaxSubscriptionsPerConnection`; answered `limit_exceeded`. */
  Subscriptions: "subscriptions",
  /** A connection closed with 4501 after `MaxAuthFailures` failed `auth` attempts. */
  AuthFailures: "auth_failures",
} as const;
export type LimitLabel = (typeof LimitLabel)[keyof typeof LimitLabel];

/** Every limit label, so that each series can exist (at 0) from the start. */
export const limitLabels: readonly LimitLabel[] = Object.values(LimitLabel);

/**
 * Values of the `limit` label on `rocket_rate_limited_total`: the per-connection rate a
 * command was refused by, with `rate_limited`.
 */
export const RateLimitLabel = {
  /** Any frame past `MaxCommandsPerSecond`. */
  Commands: "commands",
  /** A publish past `MaxPublishesPerSecond`. */
  Publishes: "publishes",
} as const;
export type RateLimitLabel = (typeof RateLimitLabel)[keyof typeof RateLimitLabel];

/** Every rate-limit label, so that each series can exist (at 0) from the start. */
export const rateLimitLabels: readonly RateLimitLabel[] = Object.values(RateLimitLabel);
