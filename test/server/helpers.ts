import { expect } from "vitest";
import { startNodes } from "../cluster/helpers.js";
import { type GatewayProc, type Resources, TestClient } from "../harness/index.js";
import { sign, tokenSecret } from "../tokens/sign.js";

/** The API key every test gateway takes, and a second one (keys rotate). */
export const apiKey = "test-api-key-0123456789";
export const otherApiKey = "test-api-key-abcdefghij";

/** The environment of a gateway with the API, tokens and Presence on `room:` channels. */
export function serverEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ROCKET_API_KEYS: JSON.stringify([apiKey, otherApiKey]),
    ROCKET_TOKEN_SECRET: tokenSecret,
    ROCKET_CHANNELS: JSON.stringify([
      { Prefix: "room:", Presence: true },
      { Prefix: "room:h:", Presence: true, History: { Size: 10, TtlSeconds: 60 } },
      { Prefix: "hist:", History: { Size: 100, TtlSeconds: 60 } },
    ]),
    ...extra,
  };
}

/** `count` gateways on one Redis with {@link serverEnv}, ready and knowing each other. */
export function startServerNodes(
  resources: Resources,
  redisUrl: string,
  count: number,
  extra: Record<string, string> = {},
): Promise<GatewayProc[]> {
  return startNodes(resources, redisUrl, count, serverEnv(extra));
}

/** An API call: status and JSON body. */
export interface ApiResult {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** Calls the API of `gw` (on its metrics port when it has one) with `key` (default {@link apiKey}). */
export async function api(
  gw: GatewayProc,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  key: string | null = apiKey,
): Promise<ApiResult> {
  const base = gw.metricsPort === undefined ? gw.http("") : `http://127.0.0.1:${gw.metricsPort}`;
  const res = await fetch(`${base}${path}`, {
    method,
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A client authenticated with a token for `sub` that may do everything everywhere. */
export async function userClient(
  resources: Resources,
  gw: GatewayProc,
  sub: string,
  rights = ["subscribe", "publish", "presence"],
) {
  const client = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
  expect(await client.request({ auth: { token: await sign({ sub, cap: { "*": rights } }, { ttl: 600 }) } })).toEqual({
    ok: true,
  });
  return client;
}

/** The deliveries of `client` on `channel`, as event:data-or-user strings. */
export function heard(client: TestClient, channel: string): string[] {
  return client.deliveries
    .filter((d) => d.channel === channel)
    .map((d) => {
      const data = d.data as { user?: string; n?: number } | null;
      return `${d.event}:${data?.user ?? data?.n ?? ""}`;
    });
}
