import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { marginMs, publisher, subscriber } from "../cluster/helpers.js";
import { type GatewayProc, type RedisProc, Resources, startRedis, TestClient, until } from "../harness/index.js";
import { sign } from "../tokens/sign.js";
import { api, heard, startServerNodes, userClient } from "./helpers.js";

/**
 * How soon a killed gateway's users leave (docs/operations.md, "Presence"): its lease lives
 * 3 s and is looked at every second, so within 4 s, plus the time to remove them.
 */
const vanishBoundMs = 3000 + 1000;

const users = (list: unknown) =>
  [...(list as { user: string; connections: number }[])].sort((x, y) => (x.user < y.user ? -1 : 1));

describe("presence: 3 gateways, 1 Redis", () => {
  const shared = new Resources();
  const resources = new Resources();
  let redis: RedisProc;
  let a: GatewayProc;
  let b: GatewayProc;
  beforeAll(async () => {
    redis = shared.add(await startRedis(), (r) => r.stop());
    [a, b] = (await startServerNodes(shared, redis.url, 2)) as [GatewayProc, GatewayProc];
  });
  afterEach(() => resources.close());
  afterAll(() => shared.close());

  it("announces a user's first join and last leave anywhere in the cluster, in order with the channel's messages", async () => {
    const watcher = await userClient(resources, a, "watcher");
    expect(await watcher.subscribe("room:1")).toEqual({ ok: true });
    const alice1 = await userClient(resources, a, "alice");
    expect(await alice1.subscribe("room:1")).toEqual({ ok: true });
    await until(() => heard(watcher, "room:1").includes("__join:alice"), 5000, "alice's join");
    const alice2 = await userClient(resources, b, "alice");
    expect(await alice2.subscribe("room:1")).toEqual({ ok: true });
    expect(await alice2.publish("room:1", "say", { n: 1 })).toEqual({ ok: true });
    await until(() => heard(watcher, "room:1").includes("say:1"), 5000, "the message");
    // Presence is recorded in the background after the ok (docs/protocol.md, "When"): once
    // both of alice's connections count, the first one leaving is no leave of alice.
    const aliceCount = async () =>
      ((await api(a, "GET", "/api/presence?channel=room:1")).body.users as { user: string; connections: number }[]).find(
        (u) => u.user === "alice",
      )?.connections;
    await until(async () => (await aliceCount()) === 2, 5000, "both of alice's connections counted");
    expect(await alice1.request({ unsubscribe: { channel: "room:1" } })).toEqual({ ok: true });
    expect(await alice2.publish("room:1", "say", { n: 2 })).toEqual({ ok: true });
    alice2.close();
    await until(() => heard(watcher, "room:1").includes("__leave:alice"), 5000, "alice's leave");
    // Every subscriber sees the same sequence: one join, the messages, one leave.
    expect(heard(watcher, "room:1")).toEqual(["__join:watcher", "__join:alice", "say:1", "say:2", "__leave:alice"]);
    // A channel without Presence has no such events, and sessions without a sub none anywhere.
    const anonymous = await subscriber(resources, b, "room:1");
    expect(await watcher.subscribe("plain")).toEqual({ ok: true });
    expect(heard(watcher, "plain")).toEqual([]);
    expect(anonymous.deliveries).toEqual([]);
  });

  it("lists the users of a channel with their connections, over the protocol and the API", async () => {
    const [carol1, carol2, dave] = [
      await userClient(resources, a, "carol"),
      await userClient(resources, b, "carol"),
      await userClient(resources, b, "dave"),
    ];
    for (const client of [carol1, carol2, dave]) expect(await client.subscribe("room:list")).toEqual({ ok: true });
    const expected = [
      { user: "carol", connections: 2 },
      { user: "dave", connections: 1 },
    ];
    await until(
      async () =>
        JSON.stringify(users((await api(a, "GET", "/api/presence?channel=room:list")).body.users)) === JSON.stringify(expected),
      5000,
      "both users",
    );
    const reply = await dave.request({ presence: { channel: "room:list" } });
    expect(reply.ok).toBe(true);
    expect(users(reply.users)).toEqual(expected);
    expect(await dave.request({ presence: { channel: "plain" } })).toEqual({ ok: true, users: [] });
    // Presence needs the right (tokens) or read-only access (secrets).
    const noRight = await userClient(resources, a, "erin", ["subscribe"]);
    expect(await noRight.request({ presence: { channel: "room:list" } })).toEqual({ err: "access_denied" });
    const reader = await subscriber(resources, a);
    expect(users((await reader.request({ presence: { channel: "room:list" } })).users)).toEqual(expected);
    const stranger = resources.add(await TestClient.connect(a.url()), (cl) => cl.close());
    expect(await stranger.request({ presence: { channel: "room:list" } })).toEqual({ err: "access_denied" });
  });

  it("refuses __ events on a channel with Presence from every session", async () => {
    const rw = await publisher(resources, a);
    expect(await rw.subscribe("room:x")).toEqual({ ok: true });
    expect(await rw.publish("room:x", "__join", { user: "mallory" })).toEqual({ err: "invalid_data" });
    expect(await rw.publish("plain-x", "__join", { user: "webrocket" })).toEqual({ err: "invalid_channel" });
  });

  it("closes every connection of a user on every node with 4503", async () => {
    const [f1, f2, g] = [
      await userClient(resources, a, "frank"),
      await userClient(resources, b, "frank"),
      await userClient(resources, b, "grace"),
    ];
    for (const client of [f1, f2, g]) expect(await client.subscribe("room:dc")).toEqual({ ok: true });
    expect(await api(b, "POST", "/api/disconnect", { user: "frank" })).toEqual({ status: 200, body: { ok: true, closed: 2 } });
    expect(await f1.closed).toEqual({ code: 4503, reason: "disconnected by the application" });
    expect(await f2.closed).toEqual({ code: 4503, reason: "disconnected by the application" });
    expect(g.isOpen).toBe(true);
    await until(
      async () =>
        JSON.stringify((await api(a, "GET", "/api/presence?channel=room:dc")).body.users) ===
        JSON.stringify([{ user: "grace", connections: 1 }]),
      5000,
      "frank gone",
    );
    expect(await api(a, "POST", "/api/disconnect", { user: "frank" })).toEqual({ status: 200, body: { ok: true, closed: 0 } });
  });
});

describe("presence when a gateway dies", () => {
  const resources = new Resources();
  afterEach(() => resources.close());

  it("removes a killed gateway's users and subscribers from presence and channel counts, with their leaves", async () => {
    const redis = resources.add(await startRedis(), (r) => r.stop());
    const [a, b, c] = (await startServerNodes(resources, redis.url, 3)) as [GatewayProc, GatewayProc, GatewayProc];
    const watcher = await userClient(resources, a, "watcher");
    expect(await watcher.subscribe("room:k")).toEqual({ ok: true });
    const henry = await userClient(resources, b, "henry");
    const ivy = [await userClient(resources, c, "ivy"), await userClient(resources, c, "ivy")];
    for (const client of [henry, ...ivy]) expect(await client.subscribe("room:k")).toEqual({ ok: true });
    const all = [
      { user: "henry", connections: 1 },
      { user: "ivy", connections: 2 },
      { user: "watcher", connections: 1 },
    ];
    await until(
      async () => JSON.stringify(users((await api(a, "GET", "/api/presence?channel=room:k")).body.users)) === JSON.stringify(all),
      5000,
      "everyone",
    );
    expect((await api(a, "GET", "/api/channels?prefix=room:k")).body).toEqual({
      ok: true,
      channels: [{ channel: "room:k", subscribers: 4 }],
    });
    await until(() => heard(watcher, "room:k").includes("__join:ivy"), 5000, "ivy's join");

    const killedAt = Date.now();
    c.proc.kill("SIGKILL");
    await c.proc.exited;
    await until(() => heard(watcher, "room:k").includes("__leave:ivy"), vanishBoundMs + marginMs + 2000, "ivy's leave");
    expect(Date.now() - killedAt).toBeLessThan(vanishBoundMs + marginMs);
    expect(users((await api(a, "GET", "/api/presence?channel=room:k")).body.users)).toEqual([
      { user: "henry", connections: 1 },
      { user: "watcher", connections: 1 },
    ]);
    // The killed node's subscribers leave the counts once the others stop expecting it (heartbeat, 3 s).
    await until(
      async () => {
        const res = await api(b, "GET", "/api/channels?prefix=room:k");
        return (
          res.status === 200 && JSON.stringify(res.body.channels) === JSON.stringify([{ channel: "room:k", subscribers: 2 }])
        );
      },
      10_000,
      "counts without the killed node",
    );
    // Each node announces its user's join after the subscribe's ok, in the background, so joins
    // made on different nodes may arrive in either order; each once, and the leave after them.
    const events = heard(watcher, "room:k");
    expect(events.slice(0, 3).sort()).toEqual(["__join:henry", "__join:ivy", "__join:watcher"]);
    expect(events.slice(3)).toEqual(["__leave:ivy"]);
    // A fresh token for ivy elsewhere joins again.
    const back = resources.add(await TestClient.connect(a.url()), (cl) => cl.close());
    expect(await back.request({ auth: { token: await sign({ sub: "ivy", cap: { "*": ["subscribe"] } }) } })).toEqual({
      ok: true,
    });
    expect(await back.subscribe("room:k")).toEqual({ ok: true });
    await until(() => heard(watcher, "room:k").at(-1) === "__join:ivy", 5000, "ivy back");
  });
});
