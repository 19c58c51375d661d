import type { Credentials } from "./frames.js";
import { defaultReconnectOptions, type ReconnectOptions } from "./reconnect.js";
import type { WebSocketConstructor } from "./transport.js";

/** Settings of a {@link RocketClient}; only `url` is required. */
export interface ClientOptions {
  /**
   * The hub: one URL (one node, or a load balancer in front of a cluster), or several to
   * rotate through, one per reconnect attempt. Example: `"ws://localhost:9772/"`.
   */
  readonly url: string | readonly string[];
  /** Credentials presented first on every connection. Default: none (call `auth()` later). */
  readonly auth?: Credentials;
  /**
   * A token (JWT from the application's backend) presented first on every connection,
   * instead of `auth`. Without `getToken` it cannot be renewed: when it expires the server
   * closes the connection (4001) and the client stops.
   */
  readonly token?: string;
  /**
   * Fetches a fresh token (from the application's backend). Called before the first
   * connection (unless `token` is given), shortly before each token expires (the new one is
   * presented on the open connection, keeping its subscriptions), and before reconnecting
   * when the server closed with 4001 or the token has expired meanwhile.
   */
  readonly getToken?: () => Promise<string>;
  /** Reconnect with exponential backoff and full jitter, or `false` to never reconnect. */
  readonly reconnect?: Partial<ReconnectOptions> | false;
  /** Most requests held while not connected; more are rejected with `queue_full`. Default 1000. */
  readonly maxQueued?: number;
  /**
   * Longest wait, ms, for the server to answer the oldest open request; past it the
   * connection is taken for dead, dropped and reopened. Default 10 000.
   */
  readonly replyTimeoutMs?: number;
  /** Longest wait, ms, for a WebSocket handshake before trying the next URL. Default 10 000. */
  readonly connectTimeoutMs?: number;
  /**
   * After this long, ms, without a frame from the server the client pings, so that a dead
   * connection (a laptop waking up, a NAT that forgot us) is noticed. 0 disables. Default 25 000.
   */
  readonly pingIntervalMs?: number;
  /** WebSocket class to use. Default: the runtime's own, else the `ws` package. */
  readonly WebSocket?: WebSocketConstructor;
  /** Random numbers in [0, 1) for the backoff jitter. Default `Math.random`. */
  readonly random?: () => number;
}

export interface ResolvedOptions {
  readonly urls: readonly string[];
  readonly auth: Credentials | undefined;
  readonly token: string | undefined;
  readonly getToken: (() => Promise<string>) | undefined;
  readonly reconnect: ReconnectOptions | undefined;
  readonly maxQueued: number;
  readonly replyTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly random: () => number;
}

/** Fills in defaults and rejects values that cannot work, naming the option. */
export function resolveOptions(options: ClientOptions): ResolvedOptions {
  const urls = typeof options.url === "string" ? [options.url] : [...options.url];
  if (urls.length === 0 || urls.some((u) => typeof u !== "string" || u === "")) {
    throw new TypeError("url: give a WebSocket URL or a non-empty list of them");
  }
  if (options.auth !== undefined && (options.token !== undefined || options.getToken !== undefined)) {
    throw new TypeError("auth: give either auth (a secret) or token/getToken, not both");
  }
  if (options.getToken !== undefined && typeof options.getToken !== "function") {
    throw new TypeError("getToken: must be a function returning a promise of a token");
  }
  const reconnect = options.reconnect === false ? undefined : { ...defaultReconnectOptions, ...options.reconnect };
  if (reconnect && !(reconnect.initialDelayMs >= 0 && reconnect.maxDelayMs >= 0 && reconnect.maxAttempts >= 0)) {
    throw new RangeError("reconnect: initialDelayMs, maxDelayMs and maxAttempts must be 0 or more");
  }
  const resolved: ResolvedOptions = {
    urls,
    auth: options.auth,
    token: options.token,
    getToken: options.getToken,
    reconnect,
    maxQueued: options.maxQueued ?? 1000,
    replyTimeoutMs: options.replyTimeoutMs ?? 10_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    pingIntervalMs: options.pingIntervalMs ?? 25_000,
    WebSocket: options.WebSocket,
    random: options.random ?? Math.random,
  };
  for (const key of ["maxQueued", "replyTimeoutMs", "connectTimeoutMs", "pingIntervalMs"] as const) {
    if (!(resolved[key] >= 0)) throw new RangeError(`${key}: must be 0 or more, got ${resolved[key]}`);
  }
  return resolved;
}
