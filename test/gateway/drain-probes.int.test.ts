import { afterEach, describe, expect, it } from "vitest";
import { Resources, startGateway, TestClient } from "../harness/index.js";

const resources = new Resources();
afterEach(() => resources.close());

describe("drain with a metrics port", () => {
  it("keeps the metrics port answering during the drain: alive, not ready, scrapes show it", async () => {
    // 30 clients over 6 s: the drain closes one every 200 ms, long enough to look at the probes
    // even on a busy machine (the process exits, and the metrics port closes, only after it).
    const gw = resources.add(
      await startGateway({ args: ["--metrics-port", "0"], env: { ROCKET_DRAIN_TIMEOUT_MS: "6000" } }),
      (g) => g.stop(),
    );
    const metricsUrl = (path: string) => `http://127.0.0.1:${gw.metricsPort}${path}`;
    const clients = await Promise.all(Array.from({ length: 30 }, () => TestClient.connect(gw.url())));
    const closed = clients.map((c) => c.closed);
    expect((await fetch(metricsUrl("/readyz"))).status).toBe(200);

    gw.proc.kill("SIGTERM");
    await gw.proc.waitForLine(/closing clients with 1001/);

    expect((await fetch(metricsUrl("/healthz"))).status).toBe(200);
    const ready = await fetch(metricsUrl("/readyz"));
    expect(ready.status).toBe(503);
    expect(await ready.text()).toMatch(/draining/);
    const scrape = await (await fetch(metricsUrl("/metrics"))).text();
    expect(scrape).toMatch(/^rocket_ready 0$/m);
    // The clients' port refuses new connections at once.
    await expect(TestClient.connect(gw.url())).rejects.toThrow();

    expect((await Promise.all(closed)).map((c) => c.code)).toEqual(clients.map(() => 1001));
    expect((await gw.proc.exited).code).toBe(0);
    await expect(fetch(metricsUrl("/healthz"))).rejects.toThrow();
  });
});
