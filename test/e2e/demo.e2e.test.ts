import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type GatewayProc,
  type RedisProc,
  Resources,
  startGateway,
  startRedis,
  startTcpProxy,
  TestClient,
} from "../harness/index.js";
import { launchChromium, screenshot } from "./browser.js";
import { DemoPage } from "./demo-page.js";

const demoDir = fileURLToPath(new URL("../../apps/demo/dist/", import.meta.url));
const secret = "test-secret";
/** The chat keeps history, as `npm start` configures it (apps/demo/rocket.json). */
const config = { Channels: [{ Prefix: "chat", History: { Size: 100, TtlSeconds: 3600 } }] };

const resources = new Resources();
let redis: RedisProc;
let nodeA: GatewayProc;
let nodeB: GatewayProc;
let a: DemoPage;
let b: DemoPage;

/** Both pages as they are now, saved as test-artifacts/e2e/<step>-page-{a,b}.png. */
async function snapshot(step: string): Promise<void> {
  await Promise.all([screenshot(a.page, `${step}-page-a`), screenshot(b.page, `${step}-page-b`)]);
}

beforeAll(async () => {
  if (!existsSync(`${demoDir}index.html`) || !existsSync(`${demoDir}app.js`)) {
    throw new Error(`no demo build in ${demoDir}: run \`npm run build\` first`);
  }
  redis = resources.add(await startRedis(), (r) => r.stop());
  [nodeA, nodeB] = (await Promise.all(
    [0, 1].map(async () =>
      resources.add(
        await startGateway({ config, redisUrl: redis.url, args: ["--static", demoDir], env: { ROCKET_SECRET: secret } }),
        (g) => g.stop(),
      ),
    ),
  )) as [GatewayProc, GatewayProc];
  const browser: Browser = resources.add(await launchChromium(), (br) => br.close());
  // A context each: separate storage, as two people's browsers would have.
  const desktop = await (await browser.newContext({ viewport: { width: 1100, height: 720 } })).newPage();
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true })).newPage();
  a = new DemoPage(desktop);
  b = new DemoPage(phone);
  // B first, so that it is in the room when A joins. B stays on node B; A is served by
  // node A and may fall back to node B.
  await b.open(`${nodeB.http("/")}#secret=${secret}`);
  await b.waitForState("open");
  await b.waitUntilWritable();
  const urls = [nodeA.url(), nodeB.url()].join(",");
  await a.open(`${nodeA.http("/")}?urls=${encodeURIComponent(urls)}#secret=${secret}`);
  await a.waitForState("open");
  await a.waitUntilWritable();
});

afterAll(async () => {
  try {
    if (a && b && !a.page.isClosed()) await snapshot("final");
  } finally {
    await resources.close();
  }
});

describe("the demo on a two-node cluster", () => {
  it("shows each page on its own node, on a phone-sized viewport too", async () => {
    expect(await a.node()).toBe(`127.0.0.1:${nodeA.port}`);
    expect(await b.node()).toBe(`127.0.0.1:${nodeB.port}`);
    expect(await b.overflowsSideways()).toBe(false);
  });

  it("carries a chat message typed in A to B, and back", async () => {
    const [nameA, nameB] = [await a.name(), await b.name()];
    await b.waitForPresence(`${nameA} joined`);
    await a.say("hello from node A");
    await b.waitForMessage(nameA, "hello from node A");
    await b.say("hello back from node B");
    await a.waitForMessage(nameB, "hello back from node B");
  });

  it("moves A's dot on B when A moves it", async () => {
    const id = await a.myDotId();
    await a.moveMouseTo(0.25, 0.75);
    await b.waitForDotAt(id, 0.25, 0.75);
    await a.moveMouseTo(0.8, 0.2);
    await b.waitForDotAt(id, 0.8, 0.2);
    await a.pressKey("ArrowLeft", 3);
    await a.pressKey("ArrowDown", 2);
    await b.waitForDotAt(id, 0.74, 0.24);
    await snapshot("chat-and-dots");
  });

  it("reconnects A through the second URL when A's node dies, and keeps chatting", async () => {
    const nameA = await a.name();
    await a.recordStates();
    nodeA.proc.kill("SIGKILL");
    await nodeA.proc.exited;
    await a.waitForNote("Connection lost; reconnecting");
    await snapshot("reconnecting");
    await a.waitForNote(`Reconnected via ${nodeB.url()}`);
    await a.waitForState("open");
    expect(await a.shownStates()).toEqual(["open", "reconnecting", "open"]);
    expect(await a.node()).toBe(`127.0.0.1:${nodeB.port}`);

    await a.say("still here, now through node B");
    await b.waitForMessage(nameA, "still here, now through node B");
    await b.say("welcome back");
    await a.waitForMessage(await b.name(), "welcome back");
    const id = await a.myDotId();
    await a.moveMouseTo(0.5, 0.5);
    await b.waitForDotAt(id, 0.5, 0.5);
    await snapshot("recovered");
  });

  it("shows a newcomer the last messages, and loses no line when its gateway restarts under it", async () => {
    // C's gateway sits behind a relay, so that a gateway restarted on a port of its own is
    // the same address for the page.
    const start = async () =>
      resources.add(await startGateway({ config, redisUrl: redis.url, env: { ROCKET_SECRET: secret } }), (g) => g.stop());
    let nodeC = await start();
    const relay = resources.add(await startTcpProxy(nodeC.port), (r) => r.close());
    const context = await b.page
      .context()
      .browser()
      ?.newContext({ viewport: { width: 1000, height: 700 } });
    if (context === undefined) throw new Error("no browser");
    const c = new DemoPage(await context.newPage());
    await c.open(`${nodeB.http("/")}?urls=${encodeURIComponent(`ws://127.0.0.1:${relay.port}/`)}#secret=${secret}`);
    await c.waitForState("open");
    await c.waitUntilWritable();
    // History: what was said before C came.
    await c.waitForMessage(await b.name(), "hello back from node B");
    await c.waitForMessage(await b.name(), "welcome back");

    const speaker = resources.add(await TestClient.connect(nodeB.url()), (t) => t.close());
    expect(await speaker.auth("read-write", secret)).toEqual({ ok: true });
    const line = (i: number) => ({ id: "speaker", name: "Speaker", text: `line ${i}` });
    const say = async (from: number, to: number) => {
      for (let i = from; i < to; i++) expect(await speaker.publish("chat", "message", line(i))).toEqual({ ok: true });
    };
    await say(0, 10);
    await c.waitForMessage("Speaker", "line 9");
    await c.recordStates();
    await nodeC.stop();
    await c.waitForNote("Connection lost; reconnecting");
    // Said while C's gateway is down and restarting.
    await say(10, 30);
    nodeC = await start();
    relay.retarget(nodeC.port);
    await c.waitForNote("Reconnected via");
    await say(30, 40);
    await c.waitForMessage("Speaker", "line 39");
    const texts = await c.page.locator("#chat-log li.message .text").allTextContents();
    const lines = texts.filter((t) => t.startsWith("line "));
    expect(lines).toEqual(Array.from({ length: 40 }, (_, i) => `line ${i}`));
    expect(await c.shownStates()).toContain("reconnecting");
    await screenshot(c.page, "restart-page-c");
    expect(c.errors).toEqual([]);
    await context.close();
  });

  it("tells B that A left when A's page goes away (pagehide)", async () => {
    const [nameA, id] = [await a.name(), await a.myDotId()];
    expect([...a.errors, ...b.errors]).toEqual([]);
    // The page hide the browser fires as the tab closes. Closing the tab itself would race the
    // goodbye against the browser tearing the socket down, which the demo cannot win every time.
    await a.page.evaluate(() => window.dispatchEvent(new PageTransitionEvent("pagehide", { persisted: false })));
    await b.waitForPresence(`${nameA} left`);
    await b.waitForNoDot(id);
    await a.page.close();
    await screenshot(b.page, "left-page-b");
  });
});
