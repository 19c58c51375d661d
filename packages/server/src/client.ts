import {
  type ApiBatchResponse,
  type ApiChannel,
  type ApiChannelsResponse,
  type ApiDisconnectResponse,
  type ApiErrorCode,
  ApiPath,
  type ApiPresenceResponse,
  type ApiPublication,
  type ApiPublishResult,
  type PresenceUser,
  type StreamPosition,
} from "@rocket/protocol";
import { ClientErrorCode, RocketApiError } from "./errors.js";

export interface ServerClientOptions {
  /** The gateway's (or its load balancer's) HTTP address: the metrics port when it has one, e.g. `http://rocket:9100`. */
  readonly url: string;
  /** One of the gateway's `ApiKeys`. */
  readonly apiKey: string;
  /** Longest wait for an answer, ms. Default 10000. */
  readonly timeoutMs?: number;
  /** The fetch to use; default the global one (Node 20's undici, which keeps connections alive). */
  readonly fetch?: typeof fetch;
}

/** Where a call goes: a hub other than `/`. */
export interface HubOption {
  readonly hub?: string;
}

/** A publish the cluster accepted: on a channel with history, the message's position. */
export type Published = Partial<StreamPosition>;

/**
 * Rocket's server API for a Node backend. Every method resolves once the cluster answered
 * and rejects with {@link RocketApiError} otherwise; a publish answered `unavailable` (or
 * without an answer) has an unknown outcome.
 */
export interface ServerClient {
  /** Publishes on a channel (created if nobody subscribed to it yet). */
  publish(channel: string, event: string, data?: unknown, options?: HubOption): Promise<Published>;
  /** Publishes up to 100 messages in order; one result per publication (a failed one does not stop the others). */
  batch(publications: readonly ApiPublication[]): Promise<ApiPublishResult[]>;
  /** The channels with subscribers whose names start with `prefix`, with their subscribers, cluster-wide. */
  channels(options?: HubOption & { readonly prefix?: string }): Promise<ApiChannel[]>;
  /** The users subscribed to a channel with Presence, with their connections. */
  presence(channel: string, options?: HubOption): Promise<PresenceUser[]>;
  /** Closes every connection of `user` on every node (close code 4503); resolves with how many. */
  disconnect(user: string, options?: HubOption): Promise<number>;
}

export function createServerClient(options: ServerClientOptions): ServerClient {
  const base = options.url.replace(/\/+$/, "");
  const send = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;

  const call = async <T>(path: string, init: { method: "GET" | "POST"; body?: unknown; query?: Record<string, string> }) => {
    const query = init.query === undefined ? "" : `?${new URLSearchParams(init.query).toString()}`;
    let res: Response;
    try {
      res = await send(`${base}${path}${query}`, {
        method: init.method,
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          ...(init.body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw new RocketApiError(ClientErrorCode.Network, undefined, `${init.method} ${path}: ${(cause as Error).message}`, {
        cause,
      });
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (cause) {
      throw new RocketApiError(ClientErrorCode.BadResponse, res.status, `${init.method} ${path}: ${res.status}, not JSON`, {
        cause,
      });
    }
    const err = (body as { err?: unknown } | null)?.err;
    if (!res.ok || typeof err === "string") {
      const code = (typeof err === "string" ? err : ClientErrorCode.BadResponse) as ApiErrorCode | ClientErrorCode;
      throw new RocketApiError(code, res.status, `${init.method} ${path}: ${res.status} ${code}`);
    }
    return body as T;
  };
  const hubOf = (o: HubOption | undefined) => (o?.hub === undefined ? {} : { hub: o.hub });

  return {
    async publish(channel, event, data, o) {
      const body: ApiPublication = { ...hubOf(o), channel, event, ...(data === undefined ? {} : { data }) };
      const { ok: _, ...position } = await call<{ ok: true } & Published>(ApiPath.Publish, { method: "POST", body });
      return position;
    },
    async batch(publications) {
      return [...(await call<ApiBatchResponse>(ApiPath.Batch, { method: "POST", body: { publications } })).results];
    },
    async channels(o) {
      const query = { ...hubOf(o), ...(o?.prefix === undefined ? {} : { prefix: o.prefix }) };
      return [...(await call<ApiChannelsResponse>(ApiPath.Channels, { method: "GET", query })).channels];
    },
    async presence(channel, o) {
      return [...(await call<ApiPresenceResponse>(ApiPath.Presence, { method: "GET", query: { ...hubOf(o), channel } })).users];
    },
    async disconnect(user, o) {
      return (await call<ApiDisconnectResponse>(ApiPath.Disconnect, { method: "POST", body: { ...hubOf(o), user } })).closed;
    },
  };
}
