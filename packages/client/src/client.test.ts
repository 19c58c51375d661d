import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeServer } from "../test/fake-socket.js";
import { RocketClient } from "./client.js";
import type { StateChange } from "./connection.js";
import { RocketError } from "./errors.js";
import type { ClientOptions } from "./options.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Lets microtasks and due timers run. */
const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

function setup(options: Partial<ClientOptions> = {}) {
  const server = new FakeServer();
  const client = new RocketClient({
    url: "ws://a/",
    WebSocket: server.WebSocket,
    random: () => 0.5,
    pingIntervalMs: 0,
    ...options,
  });
  const states: StateChange[] = [];
  const errors: RocketError[] = [];
  client.onState((s) => states.push(s));
  client.onError((e) => errors.push(e));
  return { server, client, states, errors, names: () => states.map((s) => s.state) };
}

/** A client whose first connection is open (no credentials). */
async function open(options: Partial<ClientOptions> = {}) {
  const t = setup(options);
  await tick();
  t.server.last.accept();
  if (options.auth) t.server.last.ok();
  expect(t.client.state).toBe("open");
  return t;
}

async function rejection(promise: Promise<unknown>): Promise<RocketError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RocketError);
    return error as RocketError;
  }
  throw new Error("expected a rejection");
}

describe("requests", () => {
  it("says connecting, authenticates first, and is open once the server accepted", async () => {
    const { server, client, names } = setup({ auth: { access: "read-write", secret: "s" } });
    expect(client.state).toBe("connecting");
    await tick();
    expect(names()).toEqual(["connecting"]);
    server.last.accept();
    expect(server.last.frames).toEqual([{ auth: { access: "read-write", secret: "s" } }]);
    expect(client.state).toBe("connecting");
    server.last.ok();
    expect(names()).toEqual(["connecting", "open"]);
  });

  it("matches replies to requests in order: ok resolves, err rejects with the protocol code", async () => {
    const { server, client } = await open();
    const subscribed = client.subscribe("room");
    const refused = rejection(client.publish("nowhere", "e", 1));
    const published = client.publish("room", "e", { n: 2 });
    expect(server.last.frames).toEqual([
      { subscribe: { channel: "room", since: {} } },
      { publish: { event: "e", channel: "nowhere", data: 1 } },
      { publish: { event: "e", channel: "room", data: { n: 2 } } },
    ]);
    server.last.ok();
    server.last.err("invalid_channel");
    server.last.ok();
    await expect(subscribed).resolves.toEqual({});
    expect((await refused).code).toBe("invalid_channel");
    await expect(published).resolves.toBeUndefined();
    expect(client.subscriptions).toEqual(["room"]);
  });

  it("delivers messages to channel handlers and event handlers, between replies", async () => {
    const { server, client } = await open();
    const all: string[] = [];
    const texts: string[] = [];
    client.on("room", (m) => all.push(m.event));
    const off = client.on<{ text: string }>("room", "said", (m) => texts.push(m.data.text));
    const done = client.subscribe("room");
    server.last.deliver("room", "said", { text: "hi" });
    server.last.deliver("room", "joined", {});
    server.last.deliver("elsewhere", "said", { text: "no" });
    server.last.ok();
    await done;
    off();
    server.last.deliver("room", "said", { text: "after" });
    expect(all).toEqual(["said", "joined", "said"]);
    expect(texts).toEqual(["hi"]);
  });

  it("rejects data that is not JSON with invalid_data, without sending", async () => {
    const { server, client } = await open();
    expect((await rejection(client.publish("c", "e", { n: 1n }))).code).toBe("invalid_data");
    expect(server.last.sent).toEqual([]);
  });

  it("forgets credentials the server refused", async () => {
    const { server, client } = await open({ auth: { access: "read-write", secret: "old" } });
    const refused = rejection(client.auth("read-write", "wrong"));
    server.last.err("invalid_credentials");
    expect((await refused).code).toBe("invalid_credentials");
    server.last.drop();
    await tick(250);
    server.last.accept();
    expect(server.last.sent).toEqual([]);
    expect(client.state).toBe("open");
  });
});

describe("while not connected", () => {
  it("queues requests until the session is restored, then sends them in order", async () => {
    const { server, client } = setup({ auth: { access: "read-write", secret: "s" } });
    const a = client.subscribe("c");
    const b = client.publish("c", "e", 1);
    expect(client.queued).toBe(2);
    await tick();
    server.last.accept();
    expect(server.last.frames).toEqual([{ auth: { access: "read-write", secret: "s" } }]);
    server.last.ok();
    expect(server.last.frames.slice(1)).toEqual([
      { subscribe: { channel: "c", since: {} } },
      { publish: { event: "e", channel: "c", data: 1 } },
    ]);
    server.last.ok(2);
    await Promise.all([a, b]);
  });

  it("rejects past maxQueued with queue_full and never drops what it took", async () => {
    const { server, client } = setup({ maxQueued: 2 });
    const first = client.publish("c", "e", 1);
    const second = client.publish("c", "e", 2);
    const third = rejection(client.publish("c", "e", 3));
    expect((await third).code).toBe("queue_full");
    await tick();
    server.last.accept();
    expect(server.last.frames).toHaveLength(2);
    server.last.ok(2);
    await Promise.all([first, second]);
  });
});

describe("reconnecting", () => {
  it("backs off, re-authenticates and resubscribes in order before queued publishes go out", async () => {
    const { server, client, states } = await open({ auth: { access: "read-write", secret: "s" } });
    const subs = [client.subscribe("b"), client.subscribe("a")];
    server.last.ok(2);
    await Promise.all(subs);
    server.last.drop(1006);
    expect(states.at(-1)).toMatchObject({ state: "reconnecting", attempt: 1, delayMs: 250, closeCode: 1006 });
    const queued = client.publish("a", "e", "while away");
    await tick(249);
    expect(server.sockets).toHaveLength(1);
    await tick(1);
    expect(server.sockets).toHaveLength(2);
    const socket = server.last;
    socket.accept();
    expect(socket.frames).toEqual([
      { auth: { access: "read-write", secret: "s" } },
      { subscribe: { channel: "b", since: {} } },
      { subscribe: { channel: "a", since: {} } },
    ]);
    socket.ok(2);
    expect(socket.sent).toHaveLength(3);
    expect(client.state).toBe("reconnecting");
    socket.ok();
    expect(socket.frames.at(-1)).toEqual({ publish: { event: "e", channel: "a", data: "while away" } });
    expect(client.state).toBe("open");
    socket.ok();
    await queued;
  });

  it("grows the wait with each failed attempt and starts over once connected", async () => {
    const { server, states } = await open();
    server.last.drop();
    await tick(250);
    server.last.drop();
    await tick(500);
    server.last.drop();
    expect(states.filter((s) => s.state === "reconnecting").map((s) => s.delayMs)).toEqual([250, 500, 1000]);
    await tick(1000);
    server.last.accept();
    server.last.drop();
    expect(states.at(-1)).toMatchObject({ state: "reconnecting", attempt: 1, delayMs: 250 });
  });

  it("rejects a publish in flight with connection_lost and sends a subscribe in flight again", async () => {
    const { server, client } = await open();
    const subscribed = client.subscribe("c");
    const published = rejection(client.publish("c", "e", 1));
    server.last.drop();
    const lost = await published;
    expect(lost.code).toBe("connection_lost");
    expect(lost.closeCode).toBe(1006);
    await tick(250);
    server.last.accept();
    expect(server.last.frames).toEqual([{ subscribe: { channel: "c", since: {} } }]);
    server.last.ok();
    await subscribed;
    expect(client.subscriptions).toEqual(["c"]);
  });

  it("rotates through the URLs, one per attempt", async () => {
    const { server } = await open({ url: ["ws://a/", "ws://b/", "ws://c/"] });
    for (let i = 0; i < 4; i++) {
      server.last.drop();
      await tick(10_000);
    }
    expect(server.sockets.map((s) => s.url)).toEqual(["ws://a/", "ws://b/", "ws://c/", "ws://a/", "ws://b/"]);
  });

  it("moves on when a handshake does not complete in time", async () => {
    const { server, states } = setup({ url: ["ws://a/", "ws://b/"], connectTimeoutMs: 1000 });
    await tick();
    await tick(1000);
    expect(server.sockets[0]?.closedWith).toBeDefined();
    expect(states.at(-1)).toMatchObject({ state: "reconnecting", url: "ws://b/", reason: "connect timeout" });
    await tick(250);
    expect(server.last.url).toBe("ws://b/");
  });

  it("takes a connection that stops answering for dead", async () => {
    const { server, client } = await open({ replyTimeoutMs: 2000 });
    const first = server.last;
    const pending = rejection(client.publish("c", "e", 1));
    await tick(1999);
    expect(client.state).toBe("open");
    await tick(1);
    expect((await pending).code).toBe("connection_lost");
    expect(first.closedWith).toBeDefined();
    expect(client.state).toBe("reconnecting");
  });

  it("retries when the node cannot restore a subscription for lack of its bus", async () => {
    const { server, client, states } = await open();
    const done = client.subscribe("c");
    server.last.ok();
    await done;
    server.last.drop();
    await tick(250);
    server.last.accept();
    server.last.err("unavailable");
    expect(states.at(-1)).toMatchObject({ state: "reconnecting", attempt: 2 });
    await tick(500);
    server.last.accept();
    server.last.ok();
    expect(client.state).toBe("open");
    expect(client.subscriptions).toEqual(["c"]);
  });

  it("reports a subscription the server no longer grants and drops it", async () => {
    const { server, client, errors } = await open();
    const done = client.subscribe("c");
    server.last.ok();
    await done;
    server.last.drop();
    await tick(250);
    server.last.accept();
    server.last.err("access_denied");
    expect(client.state).toBe("open");
    expect(errors.map((e) => e.code)).toEqual(["access_denied"]);
    expect(client.subscriptions).toEqual([]);
  });
});

describe("closing", () => {
  it("stops for good on a close code in 4500–4999 and rejects what was queued", async () => {
    const { server, client, states } = await open();
    server.last.drop(4500, "go away");
    expect(states.at(-1)).toMatchObject({ state: "closed", closeCode: 4500, reason: "go away" });
    expect((await rejection(client.publish("c", "e", 1))).code).toBe("closed");
    await tick(60_000);
    expect(server.sockets).toHaveLength(1);
    await client.close();
  });

  it("gives up after maxAttempts, rejecting queued requests with closed", async () => {
    const { server, client, names } = await open({ reconnect: { maxAttempts: 1 } });
    server.last.drop();
    const queued = rejection(client.subscribe("c"));
    await tick(250);
    server.last.drop();
    expect((await queued).code).toBe("closed");
    expect(names().slice(-2)).toEqual(["reconnecting", "closed"]);
  });

  it("never reconnects with reconnect: false", async () => {
    const { server, client } = await open({ reconnect: false });
    server.last.drop();
    expect(client.state).toBe("closed");
  });

  it("close() lets open requests finish, disconnects, and resolves once closed", async () => {
    const { server, client, names } = await open();
    const published = client.publish("c", "e", 1);
    const closed = client.close();
    expect(client.close()).toBe(closed);
    expect((await rejection(client.subscribe("x"))).code).toBe("closed");
    expect(server.last.frames).toEqual([{ publish: { event: "e", channel: "c", data: 1 } }, { disconnect: true }]);
    server.last.ok(2);
    await published;
    await closed;
    expect(names().at(-1)).toBe("closed");
    expect(server.last.closedWith?.code).toBe(1000);
  });

  it("close() gives up on a server that never closes", async () => {
    const { server, client } = await open({ replyTimeoutMs: 2000 });
    const socket = server.last;
    socket.close = () => {};
    const closed = client.close();
    await tick(2000);
    await closed;
    expect(client.state).toBe("closed");
  });

  it("close() during the handshake abandons it", async () => {
    const { server, client, states } = setup();
    await tick();
    await client.close();
    expect(server.last.closedWith).toBeDefined();
    expect(states.map((s) => s.state)).toEqual(["connecting", "closed"]);
  });

  it("close() before the first connection opens nothing", async () => {
    const { server, client } = setup();
    const queued = rejection(client.publish("c", "e", 1));
    await client.close();
    await tick(1000);
    expect(server.sockets).toHaveLength(0);
    expect((await queued).code).toBe("closed");
    expect(client.state).toBe("closed");
  });

  it("close() while waiting to reconnect stops there", async () => {
    const { server, client } = await open();
    server.last.drop();
    await client.close();
    await tick(60_000);
    expect(server.sockets).toHaveLength(1);
  });
});

describe("positions and recovery", () => {
  it("tracks each channel's position and resubscribes from it after a reconnect, reporting recovered and gap", async () => {
    const { server, client } = await open();
    const recovered: unknown[] = [];
    const gaps: unknown[] = [];
    client.onRecovered((e) => recovered.push(e));
    client.onGap((e) => gaps.push(e));
    const seen: unknown[] = [];
    client.on("h", (m) => seen.push([m.data, m.offset, m.epoch]));
    const a = client.subscribe("h");
    const b = client.subscribe("g");
    const plain = client.subscribe("plain");
    server.last.push({ ok: true, offset: 4, epoch: "E" });
    server.last.push({ ok: true, offset: 0, epoch: "F" });
    server.last.ok();
    await expect(a).resolves.toEqual({ position: { offset: 4, epoch: "E" } });
    await expect(b).resolves.toEqual({ position: { offset: 0, epoch: "F" } });
    await expect(plain).resolves.toEqual({});
    server.last.push({ event: "m", channel: "h", data: 1, offset: 5, epoch: "E" });
    expect(client.position("h")).toEqual({ offset: 5, epoch: "E" });
    expect(client.position("plain")).toBeUndefined();
    expect(seen).toEqual([[1, 5, "E"]]);

    server.last.drop(4010, "history lost");
    await tick(1000);
    server.last.accept();
    expect(server.last.frames).toEqual([
      { subscribe: { channel: "h", since: { offset: 5, epoch: "E" } } },
      { subscribe: { channel: "g", since: { offset: 0, epoch: "F" } } },
      { subscribe: { channel: "plain", since: {} } },
    ]);
    server.last.push({ ok: true, recovered: true, offset: 7, epoch: "E" });
    server.last.push({ ok: true, recovered: false, offset: 9, epoch: "G" });
    server.last.ok();
    expect(client.state).toBe("open");
    expect(recovered).toEqual([{ channel: "h", position: { offset: 7, epoch: "E" } }]);
    expect(gaps).toEqual([{ channel: "g", position: { offset: 9, epoch: "G" } }]);
    expect(client.position("g")).toEqual({ offset: 9, epoch: "G" });
    const left = client.unsubscribe("h");
    server.last.ok();
    await left;
    expect(client.position("h")).toBeUndefined();
  });

  it("subscribes from a given position and reads history", async () => {
    const { server, client } = await open();
    const read = client.history("h", { limit: 2 });
    const sub = client.subscribe("h", { since: { offset: 7, epoch: "E" } });
    expect(server.last.frames).toEqual([
      { history: { channel: "h", limit: 2 } },
      { subscribe: { channel: "h", since: { offset: 7, epoch: "E" } } },
    ]);
    server.last.push({
      ok: true,
      publications: [{ event: "m", channel: "h", data: 1, offset: 7, epoch: "E" }],
      offset: 7,
      epoch: "E",
    });
    server.last.push({ ok: true, recovered: true, offset: 7, epoch: "E" });
    await expect(read).resolves.toEqual({
      messages: [{ event: "m", channel: "h", data: 1, offset: 7, epoch: "E" }],
      position: { offset: 7, epoch: "E" },
    });
    await expect(sub).resolves.toEqual({ recovered: true, position: { offset: 7, epoch: "E" } });
  });
});

describe("ping and errors", () => {
  it("ping measures a round trip when open and refuses otherwise", async () => {
    const { server, client } = setup();
    expect((await rejection(client.ping())).code).toBe("not_connected");
    await tick();
    server.last.accept();
    const rtt = client.ping();
    expect(server.last.frames).toEqual([{ unsubscribe: { channel: "" } }]);
    server.last.ok();
    expect(await rtt).toBeGreaterThanOrEqual(0);
  });

  it("pings after pingIntervalMs without a frame from the server", async () => {
    const { server } = await open({ pingIntervalMs: 1000 });
    await tick(1000);
    expect(server.last.sent).toEqual([]);
    await tick(1000);
    expect(server.last.frames).toEqual([{ unsubscribe: { channel: "" } }]);
  });

  it("reports frames outside the protocol and handlers that throw, and keeps going", async () => {
    const { server, client, errors } = await open();
    const cause = new Error("boom");
    client.on("c", () => {
      throw cause;
    });
    server.last.push("not json");
    server.last.push({ ok: true });
    server.last.deliver("c", "e", null);
    expect(errors.map((e) => e.code)).toEqual(["bad_frame", "bad_frame", "handler_failed"]);
    expect(errors[2]?.cause).toBe(cause);
    expect(client.state).toBe("open");
  });

  it("reads frames with keys and codes a newer server adds as it reads any other", async () => {
    const { server, client, errors } = await open();
    const seen: unknown[] = [];
    client.on("c", (m) => seen.push(m.data));
    const subscribed = client.subscribe("c");
    const limited = rejection(client.publish("c", "e", 1));
    server.last.push({ event: "e", channel: "c", data: 7, offset: 3, epoch: "x" });
    server.last.push({ ok: true, recovered: true, publications: [] });
    server.last.push({ err: "rate_limited", retryAfterMs: 10 });
    await expect(subscribed).resolves.toEqual({ recovered: true });
    expect((await limited).code).toBe("rate_limited");
    expect(seen).toEqual([7]);
    expect(errors).toEqual([]);
  });

  it("refuses options that cannot work", () => {
    expect(() => new RocketClient({ url: [] })).toThrow(/url/);
    expect(() => new RocketClient({ url: "ws://a/", maxQueued: -1 })).toThrow(/maxQueued/);
  });
});
