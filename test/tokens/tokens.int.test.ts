import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, Resources, startGateway, TestClient, until } from "../harness/index.js";
import { keyPair, sign, tokenSecret, unsigned } from "./sign.js";

const resources = new Resources();
let gw: GatewayProc;
const issuer = "https://app.example";
const audience = "rocket";
const claims = { iss: issuer, aud: audience };

beforeAll(async () => {
  gw = resources.add(
    await startGateway({
      config: {
        Hubs: [
          {
            Path: "/",
            Secrets: { ReadWrite: "rw-secret" },
            Tokens: { Secret: tokenSecret, Issuer: issuer, Audience: audience, LeewaySeconds: 0 },
          },
          { Path: "/only", Tokens: { Secret: tokenSecret }, TokenOnly: true },
          { Path: "/plain", Secrets: { ReadWrite: "rw-secret" } },
        ],
      },
    }),
    (g) => g.stop(),
  );
});
afterAll(() => resources.close());

async function connect(path = "/"): Promise<TestClient> {
  return resources.add(await TestClient.connect(gw.url(path)), (c) => c.close());
}

/** A client holding the read-write secret, subscribed to `channels` (so that they exist). */
async function backend(...channels: string[]): Promise<TestClient> {
  const c = await connect();
  expect(await c.auth("read-write", "rw-secret")).toEqual({ ok: true });
  for (const channel of channels) expect(await c.subscribe(channel)).toEqual({ ok: true });
  return c;
}

async function authed(token: string, path = "/"): Promise<TestClient> {
  const c = await connect(path);
  expect(await c.request({ auth: { token } })).toEqual({ ok: true });
  return c;
}

async function metric(pattern: RegExp): Promise<number> {
  const text = await (await fetch(gw.http("/metrics"))).text();
  const line = text.split("\n").find((l) => pattern.test(l));
  return line === undefined ? Number.NaN : Number(line.split(" ").at(-1));
}

describe("token errors", () => {
  it("answers invalid_credentials to every bad token, and the session has no access afterwards", async () => {
    const cap = { "*": ["subscribe", "publish"] };
    const now = Math.floor(Date.now() / 1000);
    const rsa = keyPair("RS256");
    const bad: [string, string][] = [
      ["bad signature", await sign({ ...claims, cap }, { key: `${tokenSecret}-other` })],
      ["malformed", "not-a-token"],
      ["malformed parts", "a.b.c"],
      ["algorithm not allowed (RS256 on a secret hub)", await sign({ ...claims, cap }, { alg: "RS256", key: rsa.privateKey })],
      ["alg none", unsigned({ ...claims, cap })],
      ["wrong iss", await sign({ iss: "https://evil.example", aud: audience, cap })],
      ["wrong aud", await sign({ iss: issuer, aud: "other", cap })],
      ["nbf in the future", await sign({ ...claims, cap, nbf: now + 120 })],
      ["no exp", await sign({ ...claims, cap, exp: undefined })],
      ["unknown right", await sign({ ...claims, cap: { chat: ["subscribe", "admin"] } })],
      ["cap not an object", await sign({ ...claims, cap: ["chat"] })],
      ["bad pattern", await sign({ ...claims, cap: { "": ["subscribe"] } })],
      ["sub not a string", await sign({ ...claims, cap, sub: 42 as unknown as string })],
    ];
    for (const [what, token] of bad) {
      const c = await connect();
      expect(await c.auth("read-only", ""), what).toEqual({ ok: true });
      expect(await c.request({ auth: { token } }), what).toEqual({ err: "invalid_credentials" });
      expect(await c.subscribe("chat"), what).toEqual({ err: "access_denied" });
      c.close();
    }
  });

  it("answers token_expired to an expired token, which leaves no access either", async () => {
    const c = await connect();
    const token = await sign({ ...claims, cap: { "*": ["subscribe"] }, exp: Math.floor(Date.now() / 1000) - 10 });
    expect(await c.request({ auth: { token } })).toEqual({ err: "token_expired" });
    expect(await c.subscribe("chat")).toEqual({ err: "access_denied" });
  });

  it("refuses a frame mixing a token with access or secret as invalid_data", async () => {
    const c = await connect();
    const token = await sign({ ...claims, cap: {} });
    expect(await c.request({ auth: { token, access: "read-only" } })).toEqual({ err: "invalid_data" });
    expect(await c.request({ auth: { token, secret: "x" } })).toEqual({ err: "invalid_data" });
  });

  it("refuses tokens on a hub without Tokens", async () => {
    const c = await connect("/plain");
    expect(await c.request({ auth: { token: await sign({ cap: { "*": ["subscribe"] } }) } })).toEqual({
      err: "invalid_credentials",
    });
  });
});

describe("rights", () => {
  it("allows subscribe and publish exactly where cap does, exact names and prefixes alike", async () => {
    await backend("chat:lobby", "news", "uploads", "chatter", "other");
    const c = await authed(
      await sign({
        ...claims,
        sub: "alice",
        cap: { "chat:*": ["subscribe", "publish"], news: ["subscribe"], uploads: ["publish"] },
      }),
    );
    expect(await c.subscribe("chat:lobby")).toEqual({ ok: true });
    expect(await c.subscribe("chat:new-room")).toEqual({ ok: true });
    expect(await c.publish("chat:lobby", "say", { n: 1 })).toEqual({ ok: true });
    expect((await c.waitForDeliveries(1))[0]).toMatchObject({ channel: "chat:lobby", data: { n: 1 } });
    expect(await c.subscribe("news")).toEqual({ ok: true });
    expect(await c.publish("news", "say", 1)).toEqual({ err: "access_denied" });
    expect(await c.subscribe("uploads")).toEqual({ err: "access_denied" });
    expect(await c.publish("uploads", "file", 1)).toEqual({ ok: true });
    for (const channel of ["chat", "chatter", "other", "news2"]) {
      expect(await c.subscribe(channel), channel).toEqual({ err: "access_denied" });
      expect(await c.publish(channel, "e", 1), channel).toEqual({ err: "access_denied" });
    }
    // Invalid names are refused for access first, as for secrets.
    expect(await c.subscribe("")).toEqual({ err: "access_denied" });
    expect(await c.request({ unsubscribe: { channel: "news" } })).toEqual({ ok: true });
  });

  it("lets * reach every channel, and an empty cap none", async () => {
    await backend("anything");
    const all = await authed(await sign({ ...claims, cap: { "*": ["subscribe", "publish"] } }));
    expect(await all.subscribe("whatever:you:like")).toEqual({ ok: true });
    expect(await all.publish("anything", "e", 1)).toEqual({ ok: true });
    const none = await authed(await sign({ ...claims, sub: "nobody" }));
    expect(await none.subscribe("anything")).toEqual({ err: "access_denied" });
    expect(await none.publish("anything", "e", 1)).toEqual({ err: "access_denied" });
  });

  it("refuses events named __… from token sessions only", async () => {
    const rw = await backend("room");
    const c = await authed(await sign({ ...claims, cap: { room: ["subscribe", "publish"] } }));
    expect(await c.publish("room", "__unsubscribed", {})).toEqual({ err: "invalid_data" });
    expect(await c.publish("room", "_fine", {})).toEqual({ ok: true });
    expect(await rw.publish("room", "__webrocket_allowed_it", {})).toEqual({ ok: true });
  });

  it("keeps commands sent behind a token in order, each seeing the token's access", async () => {
    await backend("ordered");
    const c = await connect();
    const token = await sign({ ...claims, cap: { ordered: ["subscribe", "publish"] } });
    c.send({ auth: { token } });
    c.send({ subscribe: { channel: "ordered" } });
    c.send({ publish: { event: "e", channel: "ordered", data: 1 } });
    c.send({ subscribe: { channel: "elsewhere" } });
    c.send("not json");
    c.send({ logout: true });
    c.send({ subscribe: { channel: "ordered" } });
    c.send({ publish: { event: "e", channel: "ordered", data: 2 } });
    const replies = [];
    for (let i = 0; i < 8; i++) replies.push(await c.nextReply());
    expect(replies).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      { err: "access_denied" },
      { err: "invalid_data" },
      { ok: true },
      { err: "access_denied" },
      { err: "access_denied" },
    ]);
  });
});

describe("refresh in place", () => {
  it("keeps what the new cap allows and stops the rest at once, telling the client after the ok", async () => {
    const rw = await backend("keep", "drop");
    const c = await authed(await sign({ ...claims, sub: "bob", cap: { keep: ["subscribe"], drop: ["subscribe"] } }));
    expect(await c.subscribe("keep")).toEqual({ ok: true });
    expect(await c.subscribe("drop")).toEqual({ ok: true });
    const before = c.raw.length;
    expect(await c.request({ auth: { token: await sign({ ...claims, sub: "bob", cap: { keep: ["subscribe"] } }) } })).toEqual({
      ok: true,
    });
    await until(() => c.raw.length >= before + 2, 5000, "the __unsubscribed frame");
    expect(c.raw.slice(before)).toEqual([
      '{"ok":true}',
      '{"event":"__unsubscribed","channel":"drop","data":{"reason":"access_denied"}}',
    ]);
    // The dropped channel delivers nothing more; the kept one still does (and after the dropped publish).
    expect(await rw.publish("drop", "e", "lost")).toEqual({ ok: true });
    expect(await rw.publish("keep", "e", "kept")).toEqual({ ok: true });
    const deliveries = await c.waitForDeliveries(2);
    expect(deliveries.map((d) => [d.event, d.channel])).toEqual([
      ["__unsubscribed", "drop"],
      ["e", "keep"],
    ]);
    expect(await c.subscribe("drop")).toEqual({ err: "access_denied" });
  });

  it("refuses a token for another sub: invalid_credentials and no access", async () => {
    await backend("mine");
    const c = await authed(await sign({ ...claims, sub: "carol", cap: { mine: ["subscribe"] } }));
    expect(await c.request({ auth: { token: await sign({ ...claims, sub: "mallory", cap: { mine: ["subscribe"] } }) } })).toEqual(
      {
        err: "invalid_credentials",
      },
    );
    expect(await c.subscribe("mine")).toEqual({ err: "access_denied" });
    expect(await c.request({ auth: { token: await sign({ ...claims, sub: "carol", cap: { mine: ["subscribe"] } }) } })).toEqual({
      ok: true,
    });
    expect(await c.subscribe("mine")).toEqual({ ok: true });
  });
});

describe("expiry", () => {
  it("closes a session whose token expires unrefreshed with 4001, and not one that refreshed", async () => {
    await backend("ticking");
    const exp = Math.floor(Date.now() / 1000) + 2;
    const cap = { ticking: ["subscribe"] };
    const lapsing = await authed(await sign({ ...claims, sub: "dave", cap, exp }));
    const refreshed = await authed(await sign({ ...claims, sub: "erin", cap, exp }));
    expect(await lapsing.subscribe("ticking")).toEqual({ ok: true });
    expect(await refreshed.subscribe("ticking")).toEqual({ ok: true });
    expect(await refreshed.request({ auth: { token: await sign({ ...claims, sub: "erin", cap, ttl: 120 }) } })).toEqual({
      ok: true,
    });
    const closed = await lapsing.closed;
    expect(closed).toEqual({ code: 4001, reason: "token expired" });
    // The lapsed token's time is past (the close proves it): the refreshed session lives on.
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
    expect(await refreshed.request({ unsubscribe: { channel: "ticking" } })).toEqual({ ok: true });
    expect(await metric(/^rocket_connections_closed_total\{hub="\/",code="4001"\}/)).toBeGreaterThanOrEqual(1);
  });
});

describe("token-only hubs", () => {
  it("refuse every secret, read-only included, and take tokens", async () => {
    const c = await connect("/only");
    expect(await c.auth("read-only", "")).toEqual({ err: "invalid_credentials" });
    expect(await c.subscribe("x")).toEqual({ err: "access_denied" });
    expect(await c.request({ auth: { token: await sign({ cap: { x: ["subscribe"] } }) } })).toEqual({ ok: true });
    expect(await c.subscribe("x")).toEqual({ ok: true });
  });
});

describe("failed auth attempts", () => {
  it("close the connection with 4501 after MaxAuthFailures (5), secrets and tokens alike", async () => {
    const c = await connect();
    for (let i = 0; i < 2; i++) expect(await c.auth("read-write", `guess-${i}`)).toEqual({ err: "invalid_credentials" });
    expect(await c.request({ auth: { token: "x.y.z" } })).toEqual({ err: "invalid_credentials" });
    const expired = await sign({ ...claims, cap: {}, exp: Math.floor(Date.now() / 1000) - 60 });
    expect(await c.request({ auth: { token: expired } })).toEqual({ err: "token_expired" });
    expect(await c.auth("read-write", "guess-last")).toEqual({ err: "invalid_credentials" });
    expect(await c.closed).toEqual({ code: 4501, reason: "too many failed auth attempts" });
    expect(await metric(/^rocket_limit_breaches_total\{hub="\/",limit="auth_failures"\}/)).toBeGreaterThanOrEqual(1);
  });
});

describe("metrics", () => {
  it("count auth outcomes by method and result", async () => {
    const ok = await metric(/^rocket_auth_total\{hub="\/",method="token",result="ok"\}/);
    const invalid = await metric(/^rocket_auth_total\{hub="\/",method="token",result="invalid"\}/);
    const expired = await metric(/^rocket_auth_total\{hub="\/",method="token",result="expired"\}/);
    const secretOk = await metric(/^rocket_auth_total\{hub="\/",method="secret",result="ok"\}/);
    const secretInvalid = await metric(/^rocket_auth_total\{hub="\/",method="secret",result="invalid"\}/);
    expect(ok).toBeGreaterThan(0);
    expect(invalid).toBeGreaterThan(0);
    expect(expired).toBeGreaterThan(0);
    expect(secretOk).toBeGreaterThan(0);
    expect(secretInvalid).toBeGreaterThan(0);
    const c = await connect();
    await c.request({ auth: { token: await sign({ ...claims, cap: {} }) } });
    expect(await metric(/^rocket_auth_total\{hub="\/",method="token",result="ok"\}/)).toBe(ok + 1);
  });
});
