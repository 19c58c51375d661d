import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeServer } from "../test/fake-socket.js";
import { RocketClient } from "./client.js";
import type { RocketError } from "./errors.js";
import type { ClientOptions } from "./options.js";
import type { Unsubscribed } from "./subscriptions.js";
import { refreshLeadMs, retryAfterMs, tokenExpiry } from "./token.js";

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(1_000_000_000_000);
});
afterEach(() => {
  vi.useRealTimers();
});

const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
/** A JWT-shaped token expiring `ttlS` seconds from now (unsigned: the client verifies nothing). */
const jwt = (name: string, ttlS: number) =>
  `${b64({ alg: "HS256" })}.${b64({ sub: name, exp: Math.floor(Date.now() / 1000) + ttlS })}.sig`;

function setup(options: Partial<ClientOptions>) {
  const server = new FakeServer();
  const client = new RocketClient({
    url: "ws://a/",
    WebSocket: server.WebSocket,
    random: () => 0.5,
    pingIntervalMs: 0,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
    ...options,
  });
  const errors: RocketError[] = [];
  const unsubscribed: Unsubscribed[] = [];
  client.onError((e) => errors.push(e));
  client.onUnsubscribed((u) => unsubscribed.push(u));
  return { server, client, errors, unsubscribed };
}

describe("tokens in the client", () => {
  it("reads exp from a token and times the refresh", () => {
    expect(tokenExpiry(jwt("a", 60))).toBe(Date.now() + 60_000);
    expect(tokenExpiry("nope")).toBeUndefined();
    expect(tokenExpiry(`x.${b64({ exp: "soon" })}.y`)).toBeUndefined();
    expect(refreshLeadMs(Date.now() + 60_000, Date.now())).toBe(12_000);
    expect(refreshLeadMs(Date.now() + 2_000, Date.now())).toBe(1_000);
    expect(refreshLeadMs(Date.now() + 3_600_000, Date.now())).toBe(60_000);
    expect([retryAfterMs("2"), retryAfterMs(" 1 "), retryAfterMs("Wed, 21 Oct 2015"), retryAfterMs(undefined)]).toEqual([
      2000,
      1000,
      undefined,
      undefined,
    ]);
  });

  it("presents a static token first on every connection", async () => {
    const token = jwt("alice", 3600);
    const { server, client } = setup({ token });
    await tick();
    server.last.accept();
    expect(server.last.frames).toEqual([{ auth: { token } }]);
    server.last.ok();
    expect(client.state).toBe("open");
    const subscribed = client.subscribe("chat");
    server.last.ok();
    await subscribed;
    server.last.drop();
    await tick(1000);
    server.last.accept();
    expect(server.last.frames).toEqual([{ auth: { token } }, { subscribe: { channel: "chat", since: {} } }]);
  });

  it("fetches a token before connecting, and a fresh one before it expires, on the same connection", async () => {
    // Each made when fetched: the second expires 48 s after the first.
    const getToken = vi.fn(async () => jwt("bob", 60));
    const { server, client } = setup({ getToken });
    await tick();
    expect(getToken).toHaveBeenCalledTimes(1);
    server.last.accept();
    const first = (server.last.frames[0] as { auth: { token: string } }).auth.token;
    server.last.ok();
    expect(client.state).toBe("open");
    await tick(47_000);
    expect(getToken).toHaveBeenCalledTimes(1);
    await tick(1_500);
    expect(getToken).toHaveBeenCalledTimes(2);
    expect(server.sockets).toHaveLength(1);
    const second = (server.last.frames[1] as { auth: { token: string } }).auth.token;
    expect(second).not.toBe(first);
    server.last.ok();
  });

  it("after a 4001 close, fetches a new token before reconnecting", async () => {
    let n = 0;
    const getToken = vi.fn(async () => jwt(`carol-${++n}`, 3600));
    const { server } = setup({ getToken });
    await tick();
    server.last.accept();
    server.last.ok();
    server.last.drop(4001, "token expired");
    await tick(1000);
    expect(getToken).toHaveBeenCalledTimes(2);
    expect(server.sockets).toHaveLength(2);
    server.last.accept();
    const token = (server.last.frames[0] as { auth: { token: string } }).auth.token;
    expect(tokenExpiry(token)).toBeDefined();
    expect(token).toContain(b64({ alg: "HS256" }));
    expect(Buffer.from(token.split(".")[1] as string, "base64url").toString()).toContain("carol-2");
  });

  it("stops after a 4001 close when it has no way to get another token", async () => {
    const { server, client } = setup({ token: jwt("dave", 1) });
    await tick();
    server.last.accept();
    server.last.ok();
    server.last.drop(4001, "token expired");
    await tick(1000);
    expect(client.state).toBe("closed");
    expect(server.sockets).toHaveLength(1);
  });

  it("fetches another token when the server refuses the one it has", async () => {
    const tokens = [jwt("erin", 3600), jwt("erin", 3600)];
    const getToken = vi.fn(async () => tokens.shift() ?? "none");
    const { server, client, errors } = setup({ getToken });
    await tick();
    server.last.accept();
    server.last.err("token_expired");
    await tick(1000);
    expect(errors.map((e) => e.code)).toEqual(["token_expired"]);
    expect(getToken).toHaveBeenCalledTimes(2);
    server.last.accept();
    server.last.ok();
    expect(client.state).toBe("open");
  });

  it("retries with backoff when getToken fails, reporting token_unavailable", async () => {
    let fail = true;
    const getToken = vi.fn(async () => {
      if (fail) throw new Error("backend down");
      return jwt("frank", 3600);
    });
    const { server, client, errors } = setup({ getToken });
    await tick();
    expect(errors.map((e) => e.code)).toEqual(["token_unavailable"]);
    expect(client.state).toBe("reconnecting");
    fail = false;
    await tick(1000);
    server.last.accept();
    server.last.ok();
    expect(client.state).toBe("open");
  });

  it("drops a channel the server unsubscribed, tells the app, and never resubscribes it", async () => {
    const { server, client, unsubscribed } = setup({ token: jwt("gina", 3600) });
    const handled: unknown[] = [];
    client.on("b", (m) => handled.push(m));
    await tick();
    server.last.accept();
    server.last.ok();
    const subs = [client.subscribe("a"), client.subscribe("b")];
    server.last.ok(2);
    await Promise.all(subs);
    server.last.deliver("b", "__unsubscribed", { reason: "access_denied" });
    expect(unsubscribed).toEqual([{ channel: "b", reason: "access_denied" }]);
    expect(client.subscriptions).toEqual(["a"]);
    expect(handled).toEqual([]);
    server.last.drop();
    await tick(1000);
    server.last.accept();
    expect(server.last.frames.slice(1)).toEqual([{ subscribe: { channel: "a", since: {} } }]);
  });

  it("treats __unsubscribed as a plain message on a secret session (webrocket publishers may send it)", async () => {
    const { server, client, unsubscribed } = setup({ auth: { access: "read-only", secret: "" } });
    const handled: unknown[] = [];
    client.on("b", (m) => handled.push(m.event));
    await tick();
    server.last.accept();
    server.last.ok();
    server.last.deliver("b", "__unsubscribed", {});
    expect(handled).toEqual(["__unsubscribed"]);
    expect(unsubscribed).toEqual([]);
  });

  it("refuses auth together with a token", () => {
    expect(() => new RocketClient({ url: "ws://a/", auth: { access: "read-only", secret: "" }, token: "t" })).toThrow(
      /either auth/,
    );
  });
});
