import { hostname } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { waitReady } from "../cluster/helpers.js";
import { type GatewayProc, type RedisProc, Resources, startGateway, startRedis, until } from "../harness/index.js";
import { filled, historyConfig, secret, type Tally, tally } from "./helpers.js";
import { startRelay } from "./relay.js";
import { SdkPublisher, SdkSubscriber } from "./sdk-subscriber.js";

const resources = new Resources();
afterEach(() => resources.close());

const channel = "h:gaps";

/** The id of `gw`'s subscriber connection in `CLIENT LIST` (named `rocket-sub:<host>:<pid>`). */
async function subscriberClientId(redis: RedisProc, gw: GatewayProc): Promise<string> {
  const name = `rocket-sub:${hostname()}:${gw.proc.pid}`.replace(/[^\x21-\x7e]/g, "_");
  const line = (await redis.cli("CLIENT", "LIST")).split("\n").find((l) => l.includes(` name=${name} `));
  const id = line && /^id=(\d+)/.exec(line)?.[1];
  if (!id) throw new Error(`no connection named ${name}`);
  return id;
}

/** How many times `gw` logged that its bus turned ready. */
const readyCount = (gw: GatewayProc) => gw.proc.lines.filter((l) => l.includes('"msg":"bus ready"')).length;

/** Subscribers on `gw` and a publisher on `origin`, publishing on `channel` until stopped. */
async function traffic(gw: GatewayProc, origin: GatewayProc, subscribers = 3, padding = "") {
  await Promise.all([waitReady(gw), waitReady(origin)]);
  const subs = Array.from({ length: subscribers }, () => new SdkSubscriber(gw.url(), channel));
  resources.add(subs, (all) => Promise.all(all.map((s) => s.close())).then(() => {}));
  await Promise.all(subs.map((s) => s.client.subscribe(channel)));
  const pub = resources.add(new SdkPublisher(origin.url(), secret, channel, 5, padding), (p) => p.stop());
  await pub.waitForAcks(20);
  return { subs, pub };
}

/** Stops publishing and waits until every subscriber has the last acknowledged message; returns the counts. */
async function settle(subs: SdkSubscriber[], pub: SdkPublisher): Promise<Tally[]> {
  await pub.stop();
  const last = pub.acked.at(-1) ?? -1;
  await until(() => subs.every((s) => s.numbers.includes(last)), 15_000, "every subscriber at the last acknowledged message");
  return subs.map((s) => tally(pub.acked, s.numbers));
}

describe("a node fills its own gaps", () => {
  it("after CLIENT KILL of its subscriber connection, its subscribers miss nothing", async () => {
    const redis = resources.add(await startRedis(), (r) => r.stop());
    const [a, b] = await Promise.all([
      startGateway({ config: historyConfig(), redisUrl: redis.url }),
      startGateway({ config: historyConfig(), redisUrl: redis.url }),
    ]);
    resources.add([a, b], (gws) => Promise.all(gws.map((g) => g.stop())).then(() => {}));
    const { subs, pub } = await traffic(b, a);
    for (let round = 0; round < 3; round++) {
      const ready = readyCount(b);
      await redis.cli("CLIENT", "KILL", "ID", await subscriberClientId(redis, b));
      await until(() => readyCount(b) > ready, 15_000, "b ready again");
      await pub.waitForAcks(30);
    }
    const counts = await settle(subs, pub);
    for (const c of counts) expect(c).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    // No client connection dropped: the node itself read back what it missed.
    for (const s of subs) expect(s.closeCodes).toEqual([]);
    expect(filled(b), "messages b read back").toBeGreaterThan(0);
  });

  it("after a 5 s silent partition from Redis, its subscribers miss nothing", async () => {
    // A small pub/sub output buffer: Redis drops the partitioned node's subscriber connection
    // (as it would a slow one), so what was published meanwhile is lost on the way and must
    // be read back. With Redis's defaults TCP would simply hold it all.
    const redis = resources.add(await startRedis(["--client-output-buffer-limit", "pubsub 256kb 128kb 1"]), (r) => r.stop());
    const relay = resources.add(await startRelay(redis.port), (r) => r.stop());
    const a = resources.add(await startGateway({ config: historyConfig(), redisUrl: redis.url }), (g) => g.stop());
    // What b reads back after the partition reaches its subscribers as one burst of several
    // MB; on a loaded machine this test's own clients can read it slower than the default
    // slow-consumer limit allows (4008: a separate mechanism, tested on its own), so b's is raised.
    const config = { ...historyConfig(), MaxBackpressureBytes: 64 * 1024 * 1024 };
    const b = resources.add(await startGateway({ config, redisUrl: `redis://127.0.0.1:${relay.port}` }), (g) => g.stop());
    const { subs, pub } = await traffic(b, a, 3, "x".repeat(8192));
    const ackedBefore = pub.acked.length;
    await relay.freeze();
    // The partition's length is the fault under test: 5 s, while a keeps publishing.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await relay.thaw();
    expect(pub.acked.length - ackedBefore, "published during the partition").toBeGreaterThan(100);
    await until(() => filled(b) > 0, 20_000, "b reading back what it missed");
    await pub.waitForAcks(30);
    const counts = await settle(subs, pub);
    for (const c of counts) expect(c).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    for (const s of subs) expect(s.closeCodes).toEqual([]);
  });

  it("when Redis restarts empty, every client is told (gap) and none goes on past a hole", async () => {
    const redis = resources.add(await startRedis(), (r) => r.stop());
    const [a, b] = await Promise.all([
      startGateway({ config: historyConfig(), redisUrl: redis.url }),
      startGateway({ config: historyConfig(), redisUrl: redis.url }),
    ]);
    resources.add([a, b], (gws) => Promise.all(gws.map((g) => g.stop())).then(() => {}));
    const onA = await traffic(a, b, 2);
    const subs = [...onA.subs];
    for (let k = 0; k < 2; k++) {
      const s = new SdkSubscriber(b.url(), channel);
      resources.add(s, (x) => x.close());
      await s.client.subscribe(channel);
      subs.push(s);
    }
    await onA.pub.waitForAcks(20);
    await redis.kill9();
    await redis.restart();
    // Every client hears of the loss: its node closed it with 4010, it resubscribed and got recovered:false.
    await until(() => subs.every((s) => s.gaps.length > 0), 20_000, "a gap event on every client");
    await onA.pub.waitForAcks(20, 20_000);
    await onA.pub.stop();
    for (const s of subs) {
      expect(s.closeCodes).toContain(4010);
      expect(s.silentHoles()).toBe(0);
    }
  });
});
