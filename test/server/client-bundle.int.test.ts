import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Resources, startGateway } from "../harness/index.js";
import { sign } from "../tokens/sign.js";
import { api, serverEnv } from "./helpers.js";

/** What the bundle exports that a page uses. */
interface Bundle {
  RocketClient: new (options: {
    url: string;
    auth?: { access: string; secret: string };
    token?: string;
    WebSocket?: unknown;
  }) => {
    subscribe(channel: string): Promise<unknown>;
    presence(channel: string): Promise<unknown>;
    on(channel: string, event: string, handler: (message: { data: unknown }) => void): void;
    close(): Promise<void>;
  };
}

describe("/rocket-client.js", () => {
  const resources = new Resources();
  afterEach(() => resources.close());

  it("serves the client SDK as one ES module, with an ETag of the version and caching headers", async () => {
    const gw = resources.add(await startGateway({ env: serverEnv() }), (g) => g.stop());
    const res = await fetch(gw.http("/rocket-client.js"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("public, max-age=3600");
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const etag = res.headers.get("etag") ?? "";
    expect(etag).toMatch(/^"0\.1\.0-[0-9a-f]{12}"$/);
    const code = await res.text();
    expect(code).not.toMatch(/^\s*import\s/m);
    const again = await fetch(gw.http("/rocket-client.js"), { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");

    // The module as a page gets it, used as a page would (with ws standing in for the browser's WebSocket).
    const file = join(tmpdir(), `rocket-client-${process.pid}-${Date.now()}.mjs`);
    writeFileSync(file, code);
    const { RocketClient } = (await import(pathToFileURL(file).href)) as Bundle;
    const client = new RocketClient({ url: gw.url(), auth: { access: "read-only", secret: "" }, WebSocket });
    resources.add(client, (c) => c.close());
    const got = new Promise<unknown>((resolve) => client.on("news", "flash", ({ data }) => resolve(data)));
    await client.subscribe("news");
    expect(await api(gw, "POST", "/api/publish", { channel: "news", event: "flash", data: { from: "backend" } })).toEqual({
      status: 200,
      body: { ok: true },
    });
    expect(await got).toEqual({ from: "backend" });

    // A page with a user's token: its own join, and the member list.
    const token = await sign({ sub: "page", cap: { "room:*": ["subscribe", "presence"] } });
    const member = new RocketClient({ url: gw.url(), token, WebSocket });
    resources.add(member, (c) => c.close());
    const joined = new Promise<unknown>((resolve) => member.on("room:b", "__join", ({ data }) => resolve(data)));
    await member.subscribe("room:b");
    expect(await joined).toEqual({ user: "page" });
    expect(await member.presence("room:b")).toEqual([{ user: "page", connections: 1 }]);
  });
});
