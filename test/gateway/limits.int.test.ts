import { afterEach, describe, expect, it } from "vitest";
import { Resources, startGateway, TestClient } from "../harness/index.js";

const resources = new Resources();
afterEach(() => resources.close());

describe("slow consumers", () => {
  it("are disconnected with 4008 once their queue passes the limit, after every message queued before", async () => {
    const gw = resources.add(await startGateway({ config: { MaxBackpressureBytes: 65536 } }), (g) => g.stop());
    const slow = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    await slow.auth("read-only", "");
    await slow.subscribe("firehose");
    const pub = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    await pub.auth("read-write", "test-secret");
    // Stop reading: the kernel buffers fill, then the server's queue for this client grows.
    const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const payload = "x".repeat(30_000);
    let sent = 0;
    for (; sent < 2000; sent++) {
      const reply = await pub.publish("firehose", "e", { i: sent, payload });
      expect(reply).toEqual({ ok: true });
      if (sent % 50 === 49) {
        const metrics = await (await fetch(gw.http("/metrics"))).text();
        if (/rocket_limit_breaches_total\{hub="\/",limit="backpressure"\} 1/.test(metrics)) break;
      }
    }
    expect(sent).toBeLessThan(2000);
    socket.resume();
    expect((await slow.closed).code).toBe(4008);
    // What was queued before the cut arrived whole and in order: nothing skipped silently.
    const got = slow.deliveries.map((d) => (d.data as { i: number }).i);
    expect(got.length).toBeGreaterThan(0);
    expect(got).toEqual([...got.keys()]);
    expect(pub.isOpen).toBe(true);
  });
});

describe("idle connections", () => {
  it("are pinged; one that answers stays open, one that does not is closed", { timeout: 40_000 }, async () => {
    const gw = resources.add(await startGateway({ config: { IdleTimeoutSeconds: 8 } }), (g) => g.stop());
    const quiet = resources.add(await TestClient.connect(gw.url(), { autoPong: false }), (c) => c.close());
    const alive = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    let pings = 0;
    alive.ws.on("ping", () => pings++);
    const closed = await quiet.closed;
    expect(closed.code).toBe(1006);
    expect(pings).toBeGreaterThan(0);
    expect(alive.isOpen).toBe(true);
    expect(await alive.request({ logout: true })).toEqual({ ok: true });
  });
});

describe("connection limit", () => {
  it("refuses upgrades past MaxConnections with 503 and says why", async () => {
    const gw = resources.add(await startGateway({ config: { MaxConnections: 2 } }), (g) => g.stop());
    const a = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    await expect(TestClient.connect(gw.url())).rejects.toThrow(/503/);
    await gw.proc.waitForLine(/connection limit reached/);
    a.close();
    await a.closed;
    const again = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    expect(await again.auth("read-only", "")).toEqual({ ok: true });
  });

  it("derives the limit from the open-file limit by default", async () => {
    const gw = resources.add(await startGateway(), (g) => g.stop());
    const line = JSON.parse(await gw.proc.waitForLine(/"msg":"listening"/)) as { maxConnections?: number };
    expect(line.maxConnections).toBeGreaterThan(0);
  });
});
