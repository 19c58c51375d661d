import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, startGateway, TestClient, until } from "../../../test/harness/index.js";
import { createServerClient, mintToken, RocketApiError, type ServerClient, verifyWebhook } from "../src/index.js";

const apiKey = "server-lib-key-0123456789";
const tokenSecret = "server-lib-token-secret-0123456789abcdef";

describe("@rocket/server against a gateway", () => {
  let gw: GatewayProc;
  let rocket: ServerClient;
  beforeAll(async () => {
    gw = await startGateway({
      env: {
        ROCKET_API_KEY: apiKey,
        ROCKET_TOKEN_SECRET: tokenSecret,
        ROCKET_CHANNELS: JSON.stringify([
          { Prefix: "room:", Presence: true },
          { Prefix: "log:", History: { Size: 10 } },
        ]),
      },
    });
    rocket = createServerClient({ url: gw.http(""), apiKey });
  });
  afterAll(() => gw?.stop());

  /** A browser's connection, authenticated with a token the backend minted. */
  const user = async (sub: string) => {
    const token = await mintToken(
      { sub, cap: { "room:*": ["subscribe", "presence"], news: ["subscribe"] }, ttl: "10m" },
      { secret: tokenSecret },
    );
    const client = await TestClient.connect(gw.url());
    expect(await client.request({ auth: { token } })).toEqual({ ok: true });
    return client;
  };

  it("publishes to subscribers of users holding minted tokens, batches, and reads positions", async () => {
    const alice = await user("alice");
    try {
      expect(await alice.subscribe("news")).toEqual({ ok: true });
      expect(await rocket.publish("news", "flash", { n: 1 })).toEqual({});
      expect(
        await rocket.batch([
          { channel: "news", event: "flash", data: { n: 2 } },
          { channel: "", event: "x" },
        ]),
      ).toEqual([{ ok: true }, { err: "invalid_channel_name" }]);
      expect((await alice.waitForDeliveries(2)).map((d) => d.data)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(await rocket.publish("log:a", "line")).toMatchObject({ offset: 1, epoch: expect.any(String) });
    } finally {
      alice.close();
    }
  });

  it("lists channels and presence, and disconnects a user", async () => {
    const [bob1, bob2] = [await user("bob"), await user("bob")];
    for (const c of [bob1, bob2]) expect(await c.subscribe("room:lib")).toEqual({ ok: true });
    await until(async () => (await rocket.presence("room:lib")).length === 1, 5000, "bob present");
    expect(await rocket.presence("room:lib")).toEqual([{ user: "bob", connections: 2 }]);
    expect(await rocket.channels({ prefix: "room:" })).toEqual([{ channel: "room:lib", subscribers: 2 }]);
    expect(await rocket.disconnect("bob")).toBe(2);
    expect((await bob1.closed).code).toBe(4503);
  });

  it("throws RocketApiError with the API's code", async () => {
    const wrong = createServerClient({ url: gw.http(""), apiKey: "not-the-key-0123456789" });
    await expect(wrong.publish("news", "x")).rejects.toMatchObject({ name: "RocketApiError", code: "unauthorized", status: 401 });
    await expect(rocket.publish("news", "__join")).rejects.toBeInstanceOf(RocketApiError);
    await expect(rocket.channels({ hub: "/nope" })).rejects.toMatchObject({ code: "not_found", status: 404 });
    const down = createServerClient({ url: "http://127.0.0.1:9", apiKey, timeoutMs: 1000 });
    await expect(down.publish("news", "x")).rejects.toMatchObject({ code: "network" });
  });
});

describe("verifyWebhook", () => {
  it("accepts the gateway's signature of the raw body and nothing else", () => {
    const body = '{"time_ms":1,"events":[{"name":"join","hub":"/","channel":"room:1","user":"alice"}]}';
    const signature = `sha256=${createHmac("sha256", "hook-secret-0123456").update(body).digest("hex")}`;
    expect(verifyWebhook(body, signature, "hook-secret-0123456")?.events[0]?.user).toBe("alice");
    expect(verifyWebhook(`${body} `, signature, "hook-secret-0123456")).toBeUndefined();
    expect(verifyWebhook(body, signature, "another-secret-000")).toBeUndefined();
    expect(verifyWebhook(body, undefined, "hook-secret-0123456")).toBeUndefined();
  });
});
