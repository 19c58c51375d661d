import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type GatewayProc, Resources, startGateway, TestClient } from "../harness/index.js";
import { sign, tokenSecret } from "./sign.js";

const resources = new Resources();
let gw: GatewayProc;

beforeAll(async () => {
  gw = resources.add(
    await startGateway({
      config: {
        Hubs: [{ Path: "/", Secrets: { ReadWrite: "rw" }, Tokens: { Secret: tokenSecret } }],
        MaxCommandsPerSecond: 20,
        MaxPublishesPerSecond: 5,
        MaxSubscriptionsPerConnection: 3,
      },
    }),
    (g) => g.stop(),
  );
});
afterAll(() => resources.close());

async function connect(): Promise<TestClient> {
  return resources.add(await TestClient.connect(gw.url()), (c) => c.close());
}

async function metric(pattern: RegExp): Promise<number> {
  const text = await (await fetch(gw.http("/metrics"))).text();
  const line = text.split("\n").find((l) => pattern.test(l));
  return line === undefined ? Number.NaN : Number(line.split(" ").at(-1));
}

/** Sends `frames` at once and collects one reply each, in order. */
async function burst(c: TestClient, frames: object[]): Promise<string[]> {
  for (const frame of frames) c.send(frame);
  const codes: string[] = [];
  for (let i = 0; i < frames.length; i++) {
    const reply = await c.nextReply();
    codes.push("ok" in reply ? "ok" : reply.err);
  }
  return codes;
}

describe("command and publish rates", () => {
  it("answers rate_limited past the burst, and the refused command does nothing", async () => {
    const rw = await connect();
    expect(await rw.auth("read-write", "rw")).toEqual({ ok: true });
    const c = await connect();
    const started = performance.now();
    const frames: object[] = [
      { auth: { access: "read-only", secret: "" } },
      ...Array.from({ length: 59 }, () => ({ unsubscribe: { channel: "x" } })),
    ];
    frames.push({ subscribe: { channel: "made-while-limited" } });
    const codes = await burst(c, frames);
    const elapsedS = (performance.now() - started) / 1000;
    const oks = codes.filter((code) => code === "ok").length;
    // A burst of 2 s worth (40) at once, plus what the bucket refilled meanwhile (20/s).
    expect(oks).toBeGreaterThanOrEqual(40);
    expect(oks).toBeLessThanOrEqual(40 + Math.ceil(elapsedS * 20) + 1);
    expect(codes.slice(0, 40).every((code) => code === "ok")).toBe(true);
    expect(codes.at(-1)).toBe("rate_limited");
    expect(new Set(codes)).toEqual(new Set(["ok", "rate_limited"]));
    expect(await rw.publish("made-while-limited", "e", 1)).toEqual({ err: "invalid_channel" });
    expect(await metric(/^rocket_rate_limited_total\{hub="\/",limit="commands"\}/)).toBeGreaterThan(0);
  });

  it("limits publishes on their own, for token sessions too; the read-write secret is exempt", async () => {
    const rw = await connect();
    expect(await rw.auth("read-write", "rw")).toEqual({ ok: true });
    expect(await rw.subscribe("pubs")).toEqual({ ok: true });
    const publishes = (n: number) => Array.from({ length: n }, (_, i) => ({ publish: { event: "e", channel: "pubs", data: i } }));
    expect(new Set(await burst(rw, publishes(60)))).toEqual(new Set(["ok"]));

    const c = await connect();
    expect(await c.request({ auth: { token: await sign({ cap: { pubs: ["publish"] } }) } })).toEqual({ ok: true });
    const codes = await burst(c, publishes(30));
    const oks = codes.filter((code) => code === "ok").length;
    expect(oks).toBeGreaterThanOrEqual(10);
    expect(oks).toBeLessThan(20);
    expect(codes.at(-1)).toBe("rate_limited");
    expect(await metric(/^rocket_rate_limited_total\{hub="\/",limit="publishes"\}/)).toBeGreaterThan(0);
  });

  it("closes a client that keeps flooding with 4029", async () => {
    const c = await connect();
    const flood = JSON.stringify({ unsubscribe: { channel: "x" } });
    // Far past the limit: 20/s allowed, closed once 5 s worth (100) more than the drain were refused.
    for (let i = 0; i < 400 && c.isOpen; i++) c.send(flood);
    expect(await c.closed).toEqual({ code: 4029, reason: "rate limit far exceeded" });
    expect(await metric(/^rocket_connections_closed_total\{hub="\/",code="4029"\}/)).toBeGreaterThanOrEqual(1);
  });
});

describe("subscriptions per connection", () => {
  it("refuses a subscribe past the cap with limit_exceeded, and takes one again after an unsubscribe", async () => {
    const c = await connect();
    expect(await c.auth("read-only", "")).toEqual({ ok: true });
    for (const channel of ["a", "b", "c"]) expect(await c.subscribe(channel)).toEqual({ ok: true });
    expect(await c.subscribe("a")).toEqual({ ok: true });
    expect(await c.subscribe("d")).toEqual({ err: "limit_exceeded" });
    expect(await c.request({ unsubscribe: { channel: "b" } })).toEqual({ ok: true });
    expect(await c.subscribe("d")).toEqual({ ok: true });
    expect(await metric(/^rocket_limit_breaches_total\{hub="\/",limit="subscriptions"\}/)).toBeGreaterThanOrEqual(1);

    const rw = await connect();
    expect(await rw.auth("read-write", "rw")).toEqual({ ok: true });
    for (const channel of ["a", "b", "c", "d", "e"]) expect(await rw.subscribe(channel), channel).toEqual({ ok: true });
  });
});

describe("new connections per second", () => {
  it("refuses upgrades past the node's rate with 503 and Retry-After", async () => {
    const node = resources.add(await startGateway({ config: { MaxConnectionsPerSecond: 5 } }), (g) => g.stop());
    const outcomes = await Promise.all(
      Array.from(
        { length: 12 },
        () =>
          new Promise<string>((resolve) => {
            const ws = new WebSocket(node.url());
            ws.on("open", () => {
              resolve("open");
              ws.close();
            });
            ws.on("unexpected-response", (_req, res) => {
              resolve(`${res.statusCode} retry-after=${res.headers["retry-after"]}`);
              ws.terminate();
            });
            ws.on("error", () => {});
          }),
      ),
    );
    const opened = outcomes.filter((o) => o === "open").length;
    expect(opened).toBeGreaterThanOrEqual(5);
    expect(opened).toBeLessThanOrEqual(7);
    expect(outcomes.filter((o) => o !== "open")).toEqual(Array(12 - opened).fill("503 retry-after=1"));
    const metrics = await (await fetch(node.http("/metrics"))).text();
    expect(metrics).toContain(`rocket_upgrades_refused_total{hub="/",reason="rate"} ${12 - opened}\n`);
  });
});
