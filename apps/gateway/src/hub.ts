import {
  CloseCode,
  commandTypes,
  errorCodes,
  type HubSecrets,
  type LimitLabel,
  limitLabels,
  type RateLimitLabel,
  rateLimitLabels,
} from "@rocket/protocol";
import type { Logger } from "pino";
import type { ChannelHistory, HistoryRules, HubConfig, PresenceRules } from "./config.js";
import type { Metrics } from "./metrics.js";

/** Values of the `method` label on `rocket_auth_total`. */
export const AuthMethod = { Secret: "secret", Token: "token" } as const;
export type AuthMethod = (typeof AuthMethod)[keyof typeof AuthMethod];

/** Values of the `result` label on `rocket_auth_total`. */
export const AuthResult = { Ok: "ok", Invalid: "invalid", Expired: "expired" } as const;
export type AuthResult = (typeof AuthResult)[keyof typeof AuthResult];

/** Values of the `reason` label on `rocket_upgrades_refused_total`. */
export const upgradeRefusals = ["origin", "draining", "full", "rate"] as const;
export type UpgradeRefusal = (typeof upgradeRefusals)[number];

/** A hub at run time: its config, its topic namespace and its metric children, bound once. */
export interface Hub {
  readonly path: string;
  readonly secrets: HubSecrets;
  /** Secrets are refused: only tokens authenticate. */
  readonly tokenOnly: boolean;
  readonly compression: boolean;
  readonly allowedOrigins: ReadonlySet<string> | undefined;
  readonly logger: Logger;
  /** Topic names are `<hub path>:<channel>`; hub paths hold no ':' so the split is unambiguous. */
  readonly topicPrefix: string;
  readonly counters: HubCounters;
  topic(channel: string): string;
  /** What `channel` keeps of its messages (the longest matching prefix rule, else the hub's); undefined: no history. */
  history(channel: string): ChannelHistory | undefined;
  /** Whether `channel` has Presence (the longest matching prefix rule, else the hub's). */
  presence(channel: string): boolean;
}

/** Metric children with the hub label already applied (hot-path increments skip label hashing). */
export interface HubCounters {
  readonly connectionsOpen: { inc(): void; dec(): void };
  readonly connectionsOpened: { inc(): void };
  readonly publishesAccepted: { inc(): void };
  readonly messagesDelivered: { inc(n?: number): void };
  readonly bytesReceived: { inc(n?: number): void };
  readonly bytesSent: { inc(n?: number): void };
  frame(command: string): void;
  reply(code: string): void;
  limit(limit: LimitLabel): void;
  closed(code: string): void;
  upgradeRefused(reason: UpgradeRefusal): void;
  auth(method: AuthMethod, result: AuthResult): void;
  rateLimited(limit: RateLimitLabel): void;
}

/**
 * A counter bumped on the hot path: a plain number, added to its prom-client series when
 * /metrics is scraped (prom-client hashes the labels on every `inc`).
 */
class PendingCount {
  private n = 0;
  constructor(private readonly series: { inc(n: number): void }) {}
  inc(by = 1): void {
    this.n += by;
  }
  flush(): void {
    if (this.n === 0) return;
    this.series.inc(this.n);
    this.n = 0;
  }
}

export function createHub(config: HubConfig, metrics: Metrics, logger: Logger): Hub {
  const hub = { hub: config.path };
  const pending: PendingCount[] = [];
  const count = (series: { inc(n: number): void }) => {
    const c = new PendingCount(series);
    pending.push(c);
    return c;
  };
  // A gauge moved by steps: the steps add up like a count (a negative sum lowers it).
  const gauge = (series: { inc(n: number): void }) => {
    const c = count(series);
    return { inc: () => c.inc(1), dec: () => c.inc(-1) };
  };
  /** One labelled series: a pending count per label value, made at its first use. */
  const byLabel = <K extends string>(child: (key: K) => { inc(n: number): void }) => {
    const counts = new Map<K, PendingCount>();
    return (key: K): void => {
      let c = counts.get(key);
      if (c === undefined) {
        c = count(child(key));
        counts.set(key, c);
      }
      c.inc();
    };
  };
  const authsOf = (method: AuthMethod) => byLabel((result) => metrics.authAttempts.labels({ ...hub, method, result }));
  const auths = { [AuthMethod.Secret]: authsOf(AuthMethod.Secret), [AuthMethod.Token]: authsOf(AuthMethod.Token) };
  const topicPrefix = `${config.path}:`;
  // Series for the common label values exist from the start, so rates and alerts see 0, not "no data".
  for (const command of [...commandTypes, "invalid"]) metrics.framesReceived.labels({ ...hub, command }).inc(0);
  for (const code of ["ok", ...errorCodes]) metrics.replies.labels({ ...hub, code }).inc(0);
  for (const limit of limitLabels) metrics.limitBreaches.labels({ ...hub, limit }).inc(0);
  const closeCodes = [
    1000,
    1001,
    1006,
    1009,
    CloseCode.SlowConsumer,
    CloseCode.HistoryLost,
    CloseCode.TokenExpired,
    CloseCode.RateLimitExceeded,
    CloseCode.DisconnectedByApplication,
  ];
  for (const code of [...closeCodes, CloseCode.TooManyAuthFailures]) {
    metrics.connectionsClosed.labels({ ...hub, code: String(code) }).inc(0);
  }
  for (const reason of upgradeRefusals) metrics.upgradesRefused.labels({ ...hub, reason }).inc(0);
  for (const method of Object.values(AuthMethod)) {
    for (const result of Object.values(AuthResult)) metrics.authAttempts.labels({ ...hub, method, result }).inc(0);
  }
  for (const limit of rateLimitLabels) metrics.rateLimited.labels({ ...hub, limit }).inc(0);
  metrics.publishesAccepted.labels(hub).inc(0);
  metrics.messagesDelivered.labels(hub).inc(0);
  metrics.connectionsOpen.labels(hub).set(0);
  metrics.beforeScrape(() => {
    for (const c of pending) c.flush();
  });
  return {
    path: config.path,
    secrets: config.secrets,
    tokenOnly: config.tokenOnly ?? false,
    compression: config.compression,
    allowedOrigins: config.allowedOrigins ? new Set(config.allowedOrigins) : undefined,
    logger,
    topicPrefix,
    topic: (channel) => topicPrefix + channel,
    history: (channel) => historyOf(config.history, channel),
    presence: (channel) => presenceOf(config.presence, channel),
    counters: {
      connectionsOpen: gauge(metrics.connectionsOpen.labels(hub)),
      connectionsOpened: count(metrics.connectionsOpened.labels(hub)),
      publishesAccepted: count(metrics.publishesAccepted.labels(hub)),
      messagesDelivered: count(metrics.messagesDelivered.labels(hub)),
      bytesReceived: count(metrics.bytesReceived.labels(hub)),
      bytesSent: count(metrics.bytesSent.labels(hub)),
      frame: byLabel((command) => metrics.framesReceived.labels({ ...hub, command })),
      reply: byLabel((code) => metrics.replies.labels({ ...hub, code })),
      limit: byLabel((limit) => metrics.limitBreaches.labels({ ...hub, limit })),
      closed: byLabel((code) => metrics.connectionsClosed.labels({ ...hub, code })),
      upgradeRefused: byLabel((reason) => metrics.upgradesRefused.labels({ ...hub, reason })),
      auth: (method, result) => auths[method](result),
      rateLimited: byLabel((limit) => metrics.rateLimited.labels({ ...hub, limit })),
    },
  };
}

function historyOf(rules: HistoryRules, channel: string): ChannelHistory | undefined {
  for (const rule of rules.prefixes) if (channel.startsWith(rule.prefix)) return rule.history;
  return rules.history;
}

function presenceOf(rules: PresenceRules | undefined, channel: string): boolean {
  if (rules === undefined) return false;
  for (const rule of rules.prefixes) if (channel.startsWith(rule.prefix)) return rule.presence;
  return rules.presence;
}
