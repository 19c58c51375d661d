import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { type RedisProc, Resources, startRedis, until } from "../harness/index.js";
import { must } from "../harness/must.js";
import { publisher, readyz, startNodes, subscriber } from "./helpers.js";

const operations = readFileSync(new URL("../../docs/operations.md", import.meta.url), "utf8");

describe("what a cluster keeps in Redis (docs/operations.md)", () => {
  const resources = new Resources();
  afterEach(() => resources.close());

  it("uses only the documented keys, channels and connection names; a message is an 8-byte clock and the frame", async () => {
    const redis = resources.add(await startRedis(), (r) => r.stop());
    const gateways = await startNodes(resources, redis.url, 2);
    const names = gateways.map((gw) => `${hostname()}:${gw.proc.pid}`);
    const sub = await subscriber(resources, must(gateways[1]), "layout");
    const pub = await publisher(resources, must(gateways[0]));

    const raw = resources.add(new Redis(redis.port, "127.0.0.1"), (r) => r.disconnect());
    const payloads: Buffer[] = [];
    raw.on("messageBuffer", (_channel: Buffer, payload: Buffer) => payloads.push(payload));
    await raw.subscribe("rocket:msg:/:layout");
    const before = Date.now();
    expect(await pub.publish("layout", "m", { x: 1 })).toEqual({ ok: true });
    const after = Date.now();
    await sub.waitForDeliveries(1);
    await until(() => payloads.length === 1, 5000, "the message on the Redis channel");
    const payload = must(payloads[0]);
    const clock = payload.readDoubleLE(0);
    expect(clock).toBeGreaterThanOrEqual(before - 1);
    expect(clock).toBeLessThanOrEqual(after + 1);
    expect(payload.subarray(8).toString()).toBe('{"event":"m","channel":"layout","data":{"x":1}}');
    await raw.unsubscribe();

    // Keys: the registry with its activity scores, the heartbeats and the node list; nothing else (no messages kept).
    expect((await redis.cli("KEYS", "*")).split("\n").sort()).toEqual(
      ["rocket:channels:/", "{rocket:channels:/}:active", "rocket:nodes", ...names.map((n) => `rocket:node:${n}`)].sort(),
    );
    expect(await redis.cli("SMEMBERS", "rocket:channels:/")).toBe("layout");
    expect(await redis.cli("ZRANGE", "{rocket:channels:/}:active", "0", "-1")).toBe("layout");
    expect((await redis.cli("SMEMBERS", "rocket:nodes")).split("\n").sort()).toEqual([...names].sort());
    const runId = must(/run_id:(\w+)/.exec(await redis.cli("INFO", "server")))[1];
    for (const name of names) {
      expect(await redis.cli("GET", `rocket:node:${name}`)).toBe(runId);
      const ttl = Number(await redis.cli("PTTL", `rocket:node:${name}`));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(3000);
    }
    // Channels: the subscribed one and a canary per node; never a pattern.
    expect((await redis.cli("PUBSUB", "CHANNELS")).split("\n").sort()).toEqual(
      ["rocket:msg:/:layout", ...names.map((n) => `rocket:canary:${n}`)].sort(),
    );
    expect(await redis.cli("PUBSUB", "NUMPAT")).toBe("0");
    const clients = await redis.cli("CLIENT", "LIST");
    for (const name of names) {
      for (const role of ["pub", "sub"]) expect(clients).toContain(`name=rocket-${role}:${name} `);
    }
  });

  it("works with the ACL user the docs give for a shared Redis", async () => {
    const redis: RedisProc = resources.add(await startRedis(), (r) => r.stop());
    const acl = /^ACL SETUSER rocket[^`]*/m.exec(operations)?.[0];
    expect(acl, "the ACL block in docs/operations.md").toBeDefined();
    expect(await redis.cli(...must(acl).trim().split(/\s+/))).toBe("OK");
    const gateways = await startNodes(resources, `redis://rocket:password@127.0.0.1:${redis.port}`, 2);
    const sub = await subscriber(resources, must(gateways[1]), "confined");
    const pub = await publisher(resources, must(gateways[0]));
    expect(await pub.publish("confined", "m", 1)).toEqual({ ok: true });
    expect(await pub.publish("never-created", "m", 1)).toEqual({ err: "invalid_channel" });
    expect(await sub.waitForDeliveries(1)).toEqual([{ event: "m", channel: "confined", data: 1 }]);
    for (const gw of gateways) {
      expect(await readyz(gw)).toBe(200);
      expect(gw.proc.lines.filter((l) => /NOPERM|NOAUTH|WRONGPASS/.test(l))).toEqual([]);
    }
    expect(await redis.cli("SISMEMBER", "rocket:channels:/", "confined")).toBe("1");
  });
});
