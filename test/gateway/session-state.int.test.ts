import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, Resources, startGateway, TestClient } from "../harness/index.js";

const ok = { ok: true };

describe("session state (docs/protocol.md)", () => {
  const resources = new Resources();
  let gw: GatewayProc;
  beforeAll(async () => {
    gw = resources.add(await startGateway(), (g) => g.stop());
  });
  afterAll(() => resources.close());

  const connect = async () => resources.add(await TestClient.connect(gw.url()), (c) => c.close());

  it("logout drops access but keeps the subscriptions", async () => {
    const c = await connect();
    expect(await c.auth("read-write", "test-secret")).toEqual(ok);
    expect(await c.subscribe("kept-after-logout")).toEqual(ok);
    expect(await c.request({ logout: true })).toEqual(ok);
    expect(await c.publish("kept-after-logout", "m", 0)).toEqual({ err: "access_denied" });
    expect(await c.subscribe("another")).toEqual({ err: "access_denied" });
    const pub = await connect();
    expect(await pub.auth("read-write", "test-secret")).toEqual(ok);
    expect(await pub.publish("kept-after-logout", "m", 1)).toEqual(ok);
    expect(await c.waitForDeliveries(1)).toEqual([{ event: "m", channel: "kept-after-logout", data: 1 }]);
  });

  it("ignores every frame after disconnect, even those sent in the same breath", async () => {
    const watcher = await connect();
    expect(await watcher.auth("read-only", "")).toEqual(ok);
    expect(await watcher.subscribe("after-disconnect")).toEqual(ok);
    const c = await connect();
    expect(await c.auth("read-write", "test-secret")).toEqual(ok);
    c.send({ disconnect: true });
    c.send({ publish: { event: "m", channel: "after-disconnect", data: "too late" } });
    c.send({ logout: true });
    expect((await c.closed).code).toBe(1000);
    expect(c.raw).toEqual(['{"ok":true}', '{"ok":true}']);
    // A round trip on the watcher after a publish of its own: the ignored one would have come first.
    const pub = await connect();
    expect(await pub.auth("read-write", "test-secret")).toEqual(ok);
    expect(await pub.publish("after-disconnect", "m", "marker")).toEqual(ok);
    expect((await watcher.waitForDeliveries(1)).map((d) => d.data)).toEqual(["marker"]);
  });
});
