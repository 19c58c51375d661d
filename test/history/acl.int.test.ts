import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { waitReady } from "../cluster/helpers.js";
import { Resources, startGateway, startRedis } from "../harness/index.js";
import { connect, historyConfig, type Position, positioned, subscribeSince } from "./helpers.js";

const operations = readFileSync(new URL("../../docs/operations.md", import.meta.url), "utf8");
const resources = new Resources();
afterEach(() => resources.close());

describe("history with the ACL user the docs give for a shared Redis", () => {
  it("publishes, recovers and reads history with nothing refused", async () => {
    const redis = resources.add(await startRedis(), (r) => r.stop());
    const acl = /^ACL SETUSER rocket[^`]*/m.exec(operations)?.[0];
    if (acl === undefined) throw new Error("no ACL block in docs/operations.md");
    expect(await redis.cli(...acl.trim().split(/\s+/))).toBe("OK");
    const url = `redis://rocket:password@127.0.0.1:${redis.port}`;
    const gw = resources.add(await startGateway({ config: historyConfig(), redisUrl: url }), (g) => g.stop());
    await waitReady(gw);
    const probe = await connect(resources, gw);
    const start = (await subscribeSince(probe, "h:acl", {})) as unknown as Position;
    probe.close();
    const pub = await connect(resources, gw);
    for (let i = 0; i < 5; i++) expect(await pub.publish("h:acl", "m", { i })).toEqual({ ok: true });
    const back = await connect(resources, gw);
    expect(await subscribeSince(back, "h:acl", start)).toMatchObject({ ok: true, recovered: true, offset: start.offset + 5 });
    await back.waitForDeliveries(5);
    expect(positioned(back, "h:acl").map((d) => d.offset)).toEqual([1, 2, 3, 4, 5].map((n) => start.offset + n));
    expect(await back.request({ history: { channel: "h:acl", limit: 2 } })).toMatchObject({ ok: true, offset: start.offset + 5 });
    expect(gw.proc.lines.filter((l) => /NOPERM|NOAUTH|WRONGPASS/.test(l))).toEqual([]);
  });
});
