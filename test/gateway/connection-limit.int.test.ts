import { afterEach, describe, expect, it } from "vitest";
import { Resources, startGateway, TestClient } from "../harness/index.js";

const resources = new Resources();
afterEach(() => resources.close());

describe("connection limit", () => {
  it("counts every upgrade refused past MaxConnections as reason full", async () => {
    const gw = resources.add(await startGateway({ config: { MaxConnections: 1 } }), (g) => g.stop());
    resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    await expect(TestClient.connect(gw.url())).rejects.toThrow(/503/);
    await expect(TestClient.connect(gw.url())).rejects.toThrow(/503/);
    const metrics = await (await fetch(gw.http("/metrics"))).text();
    expect(metrics).toMatch(/^rocket_upgrades_refused_total\{hub="\/",reason="full"\} 2$/m);
    expect(metrics).toMatch(/^rocket_connections_open\{hub="\/"\} 1$/m);
    await gw.proc.waitForLine(/"msg":"connection limit reached/);
  });
});
