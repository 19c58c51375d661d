import { afterEach, describe, expect, it } from "vitest";
import { startHaproxy } from "../deploy/haproxy.js";
import { type GatewayProc, Resources, startGateway, startRedis, startTcpProxy, type TcpProxy, until } from "../harness/index.js";
import { historyConfig, secret, tally } from "./helpers.js";
import { SdkPublisher, SdkSubscriber } from "./sdk-subscriber.js";

const resources = new Resources();
afterEach(() => resources.close());

describe("rolling restart of every gateway behind HAProxy", () => {
  it("gives every SDK client every acknowledged message exactly once and in order", async () => {
    const redis = resources.add(await startRedis(), (r) => r.stop());
    const env = { ROCKET_DRAIN_TIMEOUT_MS: "300" };
    const start = () => startGateway({ config: historyConfig(), redisUrl: redis.url, env });
    const gateways: GatewayProc[] = [];
    for (let i = 0; i < 3; i++) gateways.push(await start());
    resources.add(gateways, (all) => Promise.all(all.map((g) => g.stop())).then(() => {}));
    // uWS cannot listen again on a port whose drained connections are in TIME_WAIT, so each
    // gateway sits behind a relay with a fixed port and comes back on a new port of its own.
    const relays: TcpProxy[] = [];
    for (const gw of gateways) relays.push(resources.add(await startTcpProxy(gw.port), (r) => r.close()));
    const lb = resources.add(await startHaproxy(relays.map((r) => `127.0.0.1:${r.port}`)), (h) => h.stop());
    await lb.waitForServers((s) => s.every((x) => x.status === "UP"), "every gateway up");

    const channel = "h:roll";
    const subscribers = Array.from({ length: 6 }, () => new SdkSubscriber(lb.url(), channel));
    resources.add(subscribers, (all) => Promise.all(all.map((s) => s.close())).then(() => {}));
    await Promise.all(subscribers.map((s) => s.client.subscribe(channel)));
    const pub = new SdkPublisher(lb.url(), secret, channel);
    resources.add(pub, (p) => p.stop());
    await pub.waitForAcks(50);

    for (let k = 0; k < gateways.length; k++) {
      const old = gateways[k] as GatewayProc;
      await old.stop();
      const fresh = await start();
      gateways[k] = fresh;
      relays[k]?.retarget(fresh.port);
      await lb.waitForServers((s) => s.every((x) => x.status === "UP"), `gateway ${k + 1} back`);
      await pub.waitForAcks(50);
    }
    await pub.stop();

    const acked = pub.acked;
    const last = acked.at(-1) ?? 0;
    await until(
      () => subscribers.every((s) => s.numbers.includes(last)),
      15_000,
      "every subscriber at the last acknowledged message",
    );
    const counts = subscribers.map((s) => tally(acked, s.numbers));
    for (const c of counts) expect(c).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    // The restarts really dropped the clients (1001 from the drains), and each came back recovered.
    for (const s of subscribers) {
      expect(s.closeCodes.length).toBeGreaterThan(0);
      expect(s.gaps).toEqual([]);
      expect(s.recovered.length).toBe(s.closeCodes.length);
    }
    expect(acked.length).toBeGreaterThan(200);
  });
});
