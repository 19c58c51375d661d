import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, Resources, startGateway, TestClient } from "../harness/index.js";

const ok = { ok: true };
const err = (code: string) => ({ err: code });

const resources = new Resources();
let gw: GatewayProc;

beforeAll(async () => {
  gw = await startGateway({
    config: {
      Hubs: [
        { Path: "/", Secrets: { ReadOnly: "", ReadWrite: "rw-secret" } },
        { Path: "/other", Secrets: { ReadOnly: "ro2", ReadWrite: "rw2" } },
      ],
    },
  });
});
afterAll(async () => {
  await resources.close();
  await gw.stop();
});

async function client(path = "/"): Promise<TestClient> {
  return resources.add(await TestClient.connect(gw.url(path)), (c) => c.close());
}

async function writer(path = "/", secret = "rw-secret"): Promise<TestClient> {
  const c = await client(path);
  expect(await c.auth("read-write", secret)).toEqual(ok);
  return c;
}

let seq = 0;
const fresh = (name: string) => `${name}-${++seq}`;

describe("auth", () => {
  it("answers ok for the right secret and invalid_credentials otherwise, dropping access", async () => {
    const c = await client();
    expect(await c.auth("read-write", "rw-secret")).toEqual(ok);
    expect(await c.auth("read-write", "wrong")).toEqual(err("invalid_credentials"));
    expect(await c.subscribe(fresh("a"))).toEqual(err("access_denied"));
    expect(await c.auth("read-only", "anything: read-only is open")).toEqual(ok);
    expect(await c.subscribe(fresh("a"))).toEqual(ok);
  });

  it("answers invalid_data for a missing or unknown access level", async () => {
    const c = await client();
    expect(await c.request({ auth: { secret: "rw-secret" } })).toEqual(err("invalid_data"));
    expect(await c.request({ auth: { access: "admin", secret: "rw-secret" } })).toEqual(err("invalid_data"));
  });
});

describe("subscribe and unsubscribe", () => {
  it("needs read access", async () => {
    const c = await client();
    expect(await c.subscribe(fresh("s"))).toEqual(err("access_denied"));
  });

  it("refuses empty, over-long and non-string channel names", async () => {
    const c = await client();
    await c.auth("read-only", "");
    expect(await c.subscribe("")).toEqual(err("invalid_channel_name"));
    expect(await c.subscribe("x".repeat(256))).toEqual(err("invalid_channel_name"));
    expect(await c.request({ subscribe: { channel: 5 } })).toEqual(err("invalid_channel_name"));
    expect(await c.request({ subscribe: {} })).toEqual(err("invalid_channel_name"));
    expect(await c.subscribe("x".repeat(255))).toEqual(ok);
  });

  it("answers ok to unsubscribe, also from a channel never subscribed, and stops deliveries", async () => {
    const channel = fresh("u");
    const sub = await client();
    await sub.auth("read-only", "");
    expect(await sub.request({ unsubscribe: { channel: "never" } })).toEqual(ok);
    expect(await sub.subscribe(channel)).toEqual(ok);
    const pub = await writer();
    expect(await pub.publish(channel, "e", 1)).toEqual(ok);
    await sub.waitForDeliveries(1);
    expect(await sub.request({ unsubscribe: { channel } })).toEqual(ok);
    expect(await pub.publish(channel, "e", 2)).toEqual(ok);
    // A round trip on the subscriber after the publish: a delivery would have come before it.
    expect(await sub.request({ logout: true })).toEqual(ok);
    expect(sub.deliveries.map((d) => d.data)).toEqual([1]);
  });
});

describe("publish", () => {
  it("needs read-write access", async () => {
    const c = await client();
    await c.auth("read-only", "");
    expect(await c.publish("anything", "e", {})).toEqual(err("access_denied"));
  });

  it("answers invalid_data without event or channel, invalid_channel for a channel never created", async () => {
    const c = await writer();
    expect(await c.request({ publish: { channel: "x", data: {} } })).toEqual(err("invalid_data"));
    expect(await c.request({ publish: { event: "e", data: {} } })).toEqual(err("invalid_data"));
    expect(await c.publish(fresh("nobody-subscribed"), "e", {})).toEqual(err("invalid_channel"));
    expect(await c.publish("x".repeat(300), "e", {})).toEqual(err("invalid_channel_name"));
  });

  it("delivers to every subscriber, the publisher included, with data unchanged", async () => {
    const channel = fresh("p");
    const a = await client();
    await a.auth("read-only", "");
    await a.subscribe(channel);
    const pub = await writer();
    await pub.subscribe(channel);
    pub.send(`{"publish":{"event":"big","channel":"${channel}","data":{"n":12345678901234567890,"s":"é\\u0000"}}}`);
    expect(await pub.nextReply()).toEqual(ok);
    for (const c of [a, pub]) {
      await c.waitForDeliveries(1);
      expect(c.raw.filter((r) => r.startsWith('{"event"'))[0]).toBe(
        `{"event":"big","channel":"${channel}","data":{"n":12345678901234567890,"s":"é\\u0000"}}`,
      );
    }
  });

  it("keeps the channel after its last subscriber left (channels are never deleted)", async () => {
    const channel = fresh("kept");
    const sub = await client();
    await sub.auth("read-only", "");
    await sub.subscribe(channel);
    sub.close();
    await sub.closed;
    const pub = await writer();
    expect(await pub.publish(channel, "e", null)).toEqual(ok);
  });
});

describe("logout and disconnect", () => {
  it("logout drops access", async () => {
    const c = await writer();
    expect(await c.request({ logout: true })).toEqual(ok);
    expect(await c.publish("any", "e", 1)).toEqual(err("access_denied"));
  });

  it("disconnect answers ok, then the server closes with 1000", async () => {
    const c = await client();
    expect(await c.request({ disconnect: true })).toEqual(ok);
    expect((await c.closed).code).toBe(1000);
  });
});

describe("ordering", () => {
  it("answers 100 pipelined requests in request order", async () => {
    const channel = fresh("order");
    const c = await client();
    const expected: object[] = [];
    const frames: object[] = [];
    const add = (frame: object, reply: object) => {
      frames.push(frame);
      expected.push(reply);
    };
    add({ publish: { event: "e", channel, data: 0 } }, err("access_denied"));
    add({ auth: { access: "read-write", secret: "rw-secret" } }, ok);
    add({ publish: { event: "e", channel, data: 0 } }, err("invalid_channel"));
    add({ subscribe: { channel } }, ok);
    for (let i = 0; i < 90; i++) {
      if (i % 30 === 29) add({ subscribe: { channel: "" } }, err("invalid_channel_name"));
      else add({ publish: { event: "e", channel, data: i } }, ok);
    }
    add({ auth: { access: "read-write", secret: "bad" } }, err("invalid_credentials"));
    add({ publish: { event: "e", channel, data: -1 } }, err("access_denied"));
    add({ bogus: true }, err("invalid_data"));
    add({ auth: { access: "read-only", secret: "" } }, ok);
    add({ unsubscribe: { channel } }, ok);
    add({ logout: true }, ok);
    expect(frames).toHaveLength(100);
    for (const f of frames) c.send(f);
    const replies = [];
    for (let i = 0; i < 100; i++) replies.push(await c.nextReply());
    expect(replies).toEqual(expected);
    // The publisher was subscribed: it received its own publishes, in order.
    const own = c.deliveries.map((d) => d.data);
    expect(own).toEqual([...Array(90).keys()].filter((i) => i % 30 !== 29));
  });
});

describe("hubs", () => {
  it("keep their channels and secrets apart", async () => {
    const channel = fresh("hubbed");
    const onRoot = await client("/");
    await onRoot.auth("read-only", "");
    await onRoot.subscribe(channel);
    const other = await client("/other");
    expect(await other.auth("read-write", "rw-secret")).toEqual(err("invalid_credentials"));
    expect(await other.auth("read-only", "")).toEqual(err("invalid_credentials"));
    expect(await other.auth("read-write", "rw2")).toEqual(ok);
    expect(await other.publish(channel, "e", 1)).toEqual(err("invalid_channel"));
    await other.subscribe(channel);
    expect(await other.publish(channel, "e", 2)).toEqual(ok);
    await other.waitForDeliveries(1);
    expect(await onRoot.request({ logout: true })).toEqual(ok);
    expect(onRoot.deliveries).toEqual([]);
  });
});

describe("bad input", () => {
  it("answers invalid_data to bad JSON, arrays, scalars and unknown commands, and stays open", async () => {
    const c = await client();
    for (const frame of ["{", "[1,2,3]", "7", '"hi"', "null", '{"nope":{}}', '{"auth":{"access":"read-only"},"x":1}']) {
      expect(await c.request(frame), frame).toEqual(err("invalid_data"));
    }
    expect(c.isOpen).toBe(true);
    expect(await c.auth("read-only", "")).toEqual(ok);
  });

  it("answers invalid_data to a zero-length message", async () => {
    const c = await client();
    expect(await c.request("")).toEqual(err("invalid_data"));
    expect(c.isOpen).toBe(true);
  });

  it("answers invalid_data to frames nested deeper than 32, even a million deep", async () => {
    const c = await client();
    await c.auth("read-write", "rw-secret");
    const channel = fresh("deep");
    await c.subscribe(channel);
    const deep = (n: number) => `{"publish":{"event":"e","channel":"${channel}","data":${"[".repeat(n)}${"]".repeat(n)}}}`;
    expect(await c.request(deep(30))).toEqual(ok);
    expect(await c.request(deep(31))).toEqual(err("invalid_data"));
    expect(await c.request(`${"[".repeat(20_000)}${"]".repeat(20_000)}`)).toEqual(err("invalid_data"));
    expect(c.isOpen).toBe(true);
  });

  it("joins a fragmented message before decoding it", async () => {
    const c = await client();
    c.ws.send('{"auth":{"access":', { fin: false });
    c.ws.send('"read-write","secret"', { fin: false });
    c.ws.send(':"rw-secret"}}', { fin: true });
    expect(await c.nextReply()).toEqual(ok);
  });

  it("accepts commands in binary frames too", async () => {
    const c = await client();
    c.ws.send(Buffer.from('{"logout":true}'), { binary: true });
    expect(await c.nextReply()).toEqual(ok);
  });

  it("closes with 1009 on a message over the size limit", async () => {
    const c = await client();
    c.send(`{"publish":{"event":"e","channel":"c","data":"${"x".repeat(70_000)}"}}`);
    expect((await c.closed).code).toBe(1009);
  });

  it("drops the connection on invalid UTF-8 in a text frame", async () => {
    const c = await client();
    c.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    const { code } = await c.closed;
    expect([1006, 1007]).toContain(code);
  });
});

describe("http", () => {
  it("answers probes, metrics and anything else with short text", async () => {
    expect((await fetch(gw.http("/healthz"))).status).toBe(200);
    expect((await fetch(gw.http("/readyz"))).status).toBe(200);
    const metrics = await fetch(gw.http("/metrics"));
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/^rocket_connections_open\{hub="\/"\} \d+/m);
    expect(text).toMatch(/^rocket_frames_received_total\{hub="\/",command="auth"\} \d+/m);
    const missing = await fetch(gw.http("/nothing-here"));
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("WebSocket");
    const post = await fetch(gw.http("/"), { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    const plainGetOnHub = await fetch(gw.http("/other"));
    expect(plainGetOnHub.status).toBe(426);
  });
});
