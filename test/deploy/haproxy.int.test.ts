import { afterEach, describe, expect, it } from "vitest";
import { type GatewayProc, Resources, TestClient, until } from "../harness/index.js";
import { must } from "../harness/must.js";
import { haproxyServerVariables, startHaproxy } from "./haproxy.js";
import { composeSecret, sample, scrape, startCluster } from "./stack.js";

const resources = new Resources();
afterEach(() => resources.close());

/** A client through the load balancer, authenticated read-write and subscribed to `channel`. */
async function joined(url: string, secret: string, channel: string): Promise<TestClient> {
  const client = resources.add(await TestClient.connect(url), (c) => c.close());
  expect(await client.auth("read-write", secret)).toEqual({ ok: true });
  expect(await client.subscribe(channel)).toEqual({ ok: true });
  return client;
}

async function openOn(gateways: readonly GatewayProc[]): Promise<number> {
  const texts = await Promise.all(gateways.map(scrape));
  return texts.reduce((n, t) => n + sample(t, "rocket_connections_open"), 0);
}

async function openedOn(gateways: readonly GatewayProc[]): Promise<number> {
  const texts = await Promise.all(gateways.map(scrape));
  return texts.reduce((n, t) => n + sample(t, "rocket_connections_opened_total"), 0);
}

describe("HAProxy in front of the gateways (three, as in docker-compose.yml) on one Redis", () => {
  it("spreads clients that exchange messages, and drains a gateway sent SIGTERM", async () => {
    const secret = composeSecret();
    const n = haproxyServerVariables().length;
    const { gateways } = await startCluster(resources, n);
    const lb = resources.add(await startHaproxy(gateways.map((g) => `127.0.0.1:${g.port}`)), (h) => h.stop());
    await lb.waitForServers((servers) => servers.every((s) => s.status === "UP"), "all gateways UP in haproxy");

    // Three clients per gateway through the one address: least-connections spreads them evenly.
    const clients: TestClient[] = [];
    for (let i = 0; i < 3 * n; i++) clients.push(await joined(lb.url(), secret, "room"));
    expect((await lb.servers()).map((s) => s.current)).toEqual(gateways.map(() => 3));

    // A publish on one gateway reaches the subscribers on all of them (through Redis).
    expect(await must(clients[0]).publish("room", "hello", { n: 1 })).toEqual({ ok: true });
    for (const c of clients) expect(await c.waitForDeliveries(1)).toEqual([{ event: "hello", channel: "room", data: { n: 1 } }]);

    // Drain gateway-2. Its clients are closed with 1001 and reconnect through HAProxy.
    const g2 = must(gateways[1]);
    const others = gateways.filter((g) => g !== g2);
    const openedBefore = await openedOn(others);
    const closes: { code: number }[] = [];
    const reconnected: Promise<TestClient>[] = [];
    for (const c of clients) {
      void c.closed.then((close) => {
        closes.push(close);
        // "Going away": reconnect, as the client SDK does (not on the 1006 of the test's own cleanup).
        if (close.code === 1001) reconnected.push(joined(lb.url(), secret, "room"));
      });
    }
    let g2Exited = false;
    void g2.proc.exited.then(() => {
      g2Exited = true;
    });
    g2.proc.kill("SIGTERM");

    // HAProxy's /readyz checks fail and it takes gateway-2 out while gateway-2 still drains
    // (its clients are closed over ROCKET_DRAIN_TIMEOUT_MS, 5 s in the compose file).
    await lb.waitForServers((servers) => must(servers[1]).status.startsWith("DOWN"), "gateway-2 DOWN in haproxy");
    expect(g2Exited).toBe(false);
    // New clients meanwhile go to the two others.
    const fresh: TestClient[] = [];
    for (let i = 0; i < 3; i++) fresh.push(await joined(lb.url(), secret, "room"));

    await until(() => closes.length === 3, 15_000, "gateway-2's three clients closed");
    expect(closes.map((c) => c.code)).toEqual([1001, 1001, 1001]);
    const again = [...(await Promise.all(reconnected)), ...fresh];
    expect(await g2.proc.exited).toEqual({ code: 0, signal: null });
    const servers = await lb.servers();
    expect(must(servers[1]).status).toMatch(/^DOWN/);
    expect(must(servers[1]).current).toBe(0);
    const stillOpen = clients.filter((c) => c.isOpen);
    expect(stillOpen.length).toBe(3 * n - 3);
    expect(servers.reduce((sum, s) => sum + s.current, 0)).toBe(3 * n + 3);
    // The gateways agree: every client is on the others, and the six connections opened since
    // the SIGTERM (three reconnects, three new) were accepted there.
    expect(await openOn(others)).toBe(3 * n + 3);
    expect((await openedOn(others)) - openedBefore).toBe(6);

    // The reconnected clients exchange messages with everyone left.
    expect(await must(again[0]).publish("room", "hello", { n: 2 })).toEqual({ ok: true });
    for (const c of stillOpen)
      expect((await c.waitForDeliveries(2))[1]).toEqual({ event: "hello", channel: "room", data: { n: 2 } });
    for (const c of again) expect(await c.waitForDeliveries(1)).toEqual([{ event: "hello", channel: "room", data: { n: 2 } }]);
  });
});
