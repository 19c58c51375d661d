import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, Resources, startGateway, startRedis } from "../harness/index.js";
import { tokenSecret } from "../tokens/sign.js";
import { launchChromium, screenshot } from "./browser.js";
import { DemoPage } from "./demo-page.js";

const demoDir = fileURLToPath(new URL("../../apps/demo/dist/", import.meta.url));

const resources = new Resources();
let nodeA: GatewayProc;
let nodeB: GatewayProc;
let link: URL;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(`${demoDir}app.js`)) throw new Error(`no demo build in ${demoDir}: run \`npm run build\` first`);
  const redis = resources.add(await startRedis(), (r) => r.stop());
  // Both nodes share the hub's token secret, as every gateway of a cluster must.
  [nodeA, nodeB] = (await Promise.all(
    [0, 1].map(async () =>
      resources.add(
        await startGateway({ redisUrl: redis.url, args: ["--static", demoDir], env: { ROCKET_TOKEN_SECRET: tokenSecret } }),
        (g) => g.stop(),
      ),
    ),
  )) as [GatewayProc, GatewayProc];
  const banner = JSON.parse(await nodeA.proc.waitForLine(/open the demo at url/)) as { url: string };
  link = new URL(banner.url);
  browser = resources.add(await launchChromium(), (br) => br.close());
});
afterAll(() => resources.close());

async function page(): Promise<DemoPage> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  return new DemoPage(await context.newPage());
}

describe("the demo with the token from the start banner, on a two-node cluster", () => {
  it("prints a link carrying a token for the demo's channels, never the read-write secret", () => {
    expect(link.hash).toMatch(/^#token=[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(link.href).not.toContain("secret");
    expect(link.href).not.toContain("test-secret");
    const claims = JSON.parse(Buffer.from(link.hash.split(".")[1] as string, "base64url").toString()) as {
      sub: string;
      cap: Record<string, string[]>;
      exp: number;
      iat: number;
    };
    expect(claims.cap).toEqual({ chat: ["subscribe", "publish"], positions: ["subscribe", "publish"] });
    expect(claims.sub).toMatch(/^demo-/);
    expect(claims.exp - claims.iat).toBe(86400);
  });

  it("chats and moves dots between a page on each node", async () => {
    const a = await page();
    const b = await page();
    await b.open(`${nodeB.http("/")}${link.hash}`);
    await b.waitForState("open");
    await b.waitUntilWritable();
    await a.open(`${nodeA.http("/")}${link.hash}`);
    await a.waitForState("open");
    await a.waitUntilWritable();
    expect(await a.node()).toBe(`127.0.0.1:${nodeA.port}`);
    expect(await b.node()).toBe(`127.0.0.1:${nodeB.port}`);

    const nameA = await a.name();
    await b.waitForPresence(`${nameA} joined`);
    await a.say("hello with a token");
    await b.waitForMessage(nameA, "hello with a token");
    await b.say("and back");
    await a.waitForMessage(await b.name(), "and back");
    const id = await a.myDotId();
    await a.moveMouseTo(0.3, 0.6);
    await b.waitForDotAt(id, 0.3, 0.6);
    await Promise.all([screenshot(a.page, "token-page-a"), screenshot(b.page, "token-page-b")]);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it("stays read-only without the token", async () => {
    const c = await page();
    await c.open(nodeA.http("/"));
    await c.waitForState("open");
    await c.page.locator("#notice:not([hidden])").waitFor({ timeout: 10_000 });
    expect(await c.page.locator("#chat-input").isDisabled()).toBe(true);
  });
});
