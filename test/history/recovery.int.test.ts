import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitReady } from "../cluster/helpers.js";
import { type GatewayProc, type RedisProc, Resources, startGateway, startRedis, TestClient, until } from "../harness/index.js";
import { connect, historyConfig, type Position, positioned, subscribeSince, tally } from "./helpers.js";

/** The two ways to run: one node on the in-process bus, and two nodes on one Redis. */
const modes = [
  { name: "one node, in-process bus", redis: false },
  { name: "two nodes on Redis", redis: true },
] as const;

describe.each(modes)("history and recovery: $name", ({ redis: withRedis }) => {
  const shared = new Resources();
  const resources = new Resources();
  let redis: RedisProc | undefined;
  /** Where publishers connect, and where subscribers do (the same node without Redis). */
  let pubNode: GatewayProc;
  let subNode: GatewayProc;

  beforeAll(async () => {
    if (withRedis) redis = shared.add(await startRedis(), (r) => r.stop());
    const start = async () =>
      shared.add(await startGateway({ config: historyConfig(), ...(redis ? { redisUrl: redis.url } : {}) }), (g) => g.stop());
    pubNode = await start();
    subNode = withRedis ? await start() : pubNode;
    await Promise.all([waitReady(pubNode), waitReady(subNode)]);
  });
  afterEach(() => resources.close());
  afterAll(() => shared.close());

  it("tells the position on subscribe, and puts it in every delivery after data", async () => {
    const sub = await connect(resources, subNode);
    const first = await subscribeSince(sub, "h:pos", {});
    expect(first).toMatchObject({ ok: true, offset: 0 });
    const epoch = first.epoch as string;
    expect(epoch).toMatch(/^[A-Za-z0-9_-]+$/);
    const pub = await connect(resources, pubNode);
    expect(await pub.publish("h:pos", "e", { n: 1 })).toEqual({ ok: true });
    await sub.waitForDeliveries(1);
    expect(sub.raw.at(-1)).toBe(`{"event":"e","channel":"h:pos","data":{"n":1},"offset":1,"epoch":"${epoch}"}`);
    const again = await connect(resources, subNode);
    expect(await subscribeSince(again, "h:pos", {})).toEqual({ ok: true, offset: 1, epoch });
  });

  it("keeps every byte of a channel without history as before, and answers since there without recovering", async () => {
    const sub = await connect(resources, subNode);
    expect(await sub.subscribe("plain")).toEqual({ ok: true });
    const pub = await connect(resources, pubNode);
    expect(await pub.publish("plain", "e", { n: 1 })).toEqual({ ok: true });
    await sub.waitForDeliveries(1);
    expect(sub.raw.at(-1)).toBe('{"event":"e","channel":"plain","data":{"n":1}}');
    const other = await connect(resources, subNode);
    other.send({ subscribe: { channel: "plain2", since: {} } });
    other.send({ subscribe: { channel: "plain3", since: { offset: 5, epoch: "x" } } });
    other.send({ history: { channel: "plain2", limit: 5 } });
    await other.nextReply();
    await other.nextReply();
    await other.nextReply();
    expect(other.raw.slice(1)).toEqual(['{"ok":true}', '{"ok":true,"recovered":false}', '{"ok":true,"publications":[]}']);
  });

  it("recovers all 1000 messages published while a client was away, in order, once, then goes live", async () => {
    const before = await connect(resources, subNode);
    const start = (await subscribeSince(before, "h:away", {})) as unknown as Position;
    before.close();
    const pub = await connect(resources, pubNode);
    for (let i = 0; i < 1000; i++) pub.send({ publish: { event: "m", channel: "h:away", data: { i } } });
    for (let i = 0; i < 1000; i++) expect(await pub.nextReply()).toEqual({ ok: true });

    const back = await connect(resources, subNode);
    const reply = await subscribeSince(back, "h:away", { offset: start.offset, epoch: start.epoch });
    expect(reply).toEqual({ ok: true, recovered: true, offset: start.offset + 1000, epoch: start.epoch });
    await back.waitForDeliveries(1000);
    expect(await pub.publish("h:away", "m", { i: 1000 })).toEqual({ ok: true });
    await back.waitForDeliveries(1001);
    const got = positioned(back, "h:away");
    const numbers = got.map((d) => (d.data as { i: number }).i);
    const counts = tally(
      Array.from({ length: 1001 }, (_, i) => i),
      numbers,
    );
    expect(counts).toEqual({ acked: 1001, delivered: 1001, lost: 0, duplicated: 0, reordered: 0 });
    expect(got.map((d) => d.offset)).toEqual(Array.from({ length: 1001 }, (_, i) => start.offset + 1 + i));
  });

  it("recovers without gap or duplicate while publishes go on during the switch", async () => {
    const pub = await connect(resources, pubNode);
    const witness = await connect(resources, subNode);
    const start = (await subscribeSince(witness, "h:busy", {})) as unknown as Position;
    let running = true;
    let sent = 0;
    const publishing = (async () => {
      while (running) {
        // A few in flight at a time, so messages keep arriving during every switch.
        for (let k = 0; k < 5; k++) pub.send({ publish: { event: "m", channel: "h:busy", data: { i: sent++ } } });
        for (let k = 0; k < 5; k++) expect(await pub.nextReply(10_000)).toEqual({ ok: true });
      }
    })();
    const recovering: { client: TestClient; since: number }[] = [];
    for (let round = 0; round < 12; round++) {
      // Wait for some traffic, then come in from a position somewhat behind.
      await witness.waitForDeliveries(Math.min(sent, (round + 1) * 40), 10_000);
      const at = positioned(witness, "h:busy").at(-1)?.offset ?? start.offset;
      const since = Math.max(start.offset, at - (round % 4) * 15);
      const client = await connect(resources, subNode);
      const reply = await subscribeSince(client, "h:busy", { offset: since, epoch: start.epoch });
      expect(reply).toMatchObject({ ok: true, recovered: true, epoch: start.epoch });
      recovering.push({ client, since });
    }
    running = false;
    await publishing;
    const total = sent;
    await witness.waitForDeliveries(total, 15_000);
    const last = start.offset + total;
    for (const { client, since } of recovering) {
      await until(() => positioned(client, "h:busy").at(-1)?.offset === last, 15_000, `recovered client at ${last}`);
      const offsets = positioned(client, "h:busy").map((d) => d.offset);
      const expected = Array.from({ length: last - since }, (_, i) => since + 1 + i);
      expect(tally(expected, offsets)).toEqual({
        acked: expected.length,
        delivered: expected.length,
        lost: 0,
        duplicated: 0,
        reordered: 0,
      });
    }
    // Every client received the same frames for the same offsets as the witness.
    const byOffset = new Map(positioned(witness, "h:busy").map((d) => [d.offset, JSON.stringify(d.data)]));
    for (const { client } of recovering) {
      for (const d of positioned(client, "h:busy")) expect(JSON.stringify(d.data)).toBe(byOffset.get(d.offset));
    }
  });

  it("answers recovered:false with the latest position when the messages after since are gone, then goes live", async () => {
    const pub = await connect(resources, pubNode);
    const probe = await connect(resources, subNode);
    const start = (await subscribeSince(probe, "h:gone", {})) as unknown as Position;
    const client = await connect(resources, subNode);
    expect(await subscribeSince(client, "h:gone", { offset: 3, epoch: "not-this-one" })).toEqual({
      ok: true,
      recovered: false,
      offset: start.offset,
      epoch: start.epoch,
    });
    const ahead = await connect(resources, subNode);
    expect(await subscribeSince(ahead, "h:gone", { offset: start.offset + 50, epoch: start.epoch })).toMatchObject({
      recovered: false,
    });
    expect(await pub.publish("h:gone", "m", { i: 0 })).toEqual({ ok: true });
    await client.waitForDeliveries(1);
    expect(positioned(client, "h:gone").map((d) => d.offset)).toEqual([start.offset + 1]);
  });

  it("answers history with the last messages oldest first, capped at Size, after since, with the position", async () => {
    const pub = await connect(resources, pubNode);
    const sub = await connect(resources, subNode);
    const start = (await subscribeSince(sub, "h:hist", {})) as unknown as Position;
    for (let i = 0; i < 10; i++) expect(await pub.publish("h:hist", "m", { i })).toEqual({ ok: true });
    await sub.waitForDeliveries(10);
    const reader = await TestClient.connect(subNode.url());
    resources.add(reader, (c) => c.close());
    expect(await reader.request({ history: { channel: "h:hist", limit: 3 } })).toEqual({ err: "access_denied" });
    expect(await reader.auth("read-only", "")).toEqual({ ok: true });
    const last3 = await reader.request({ history: { channel: "h:hist", limit: 3 } });
    const e = start.epoch;
    const o = start.offset;
    expect(last3).toEqual({
      ok: true,
      publications: [7, 8, 9].map((i) => ({ event: "m", channel: "h:hist", data: { i }, offset: o + i + 1, epoch: e })),
      offset: o + 10,
      epoch: e,
    });
    // The stored frames are the bytes subscribers received.
    const raw = reader.raw.at(-1) ?? "";
    for (const frame of sub.raw.slice(-3)) expect(raw).toContain(frame);
    const after = await reader.request({ history: { channel: "h:hist", since: { offset: o + 8, epoch: e } } });
    expect(after).toMatchObject({ recovered: true, offset: o + 10, epoch: e });
    expect((after.publications as { data: { i: number } }[]).map((p) => p.data.i)).toEqual([8, 9]);
    const lost = await reader.request({ history: { channel: "h:hist", since: { offset: 1, epoch: "other" } } });
    expect(lost).toEqual({ ok: true, recovered: false, publications: [], offset: o + 10, epoch: e });
    expect(await reader.request({ history: { channel: "", limit: 1 } })).toEqual({ err: "invalid_channel_name" });
  });
});
