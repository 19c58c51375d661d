import { afterEach, describe, expect, it } from "vitest";
import { Resources, startGateway, TestClient } from "../harness/index.js";

const resources = new Resources();
afterEach(() => resources.close());

describe("one gateway", () => {
  it("relays a publish to a subscriber", async () => {
    const gw = resources.add(await startGateway(), (g) => g.stop());
    const sub = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    const pub = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    expect(await sub.auth("read-only", "")).toEqual({ ok: true });
    expect(await sub.subscribe("chat")).toEqual({ ok: true });
    expect(await pub.auth("read-write", "test-secret")).toEqual({ ok: true });
    expect(await pub.publish("chat", "msg", { text: "hi" })).toEqual({ ok: true });
    expect(await sub.waitForDeliveries(1)).toEqual([{ event: "msg", channel: "chat", data: { text: "hi" } }]);
  });
});
