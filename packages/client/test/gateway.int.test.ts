import { afterEach, describe, expect, it } from "vitest";
import { Resources, startGateway, startTcpProxy, TestClient, until } from "../../../test/harness/index.js";
import { type ClientOptions, RocketClient, RocketError } from "../src/index.js";
import { nextState } from "./wait.js";

const resources = new Resources();
afterEach(() => resources.close());

const readWrite = { access: "read-write", secret: "test-secret" } as const;
const fastReconnect = { initialDelayMs: 50, maxDelayMs: 500 };

function client(options: ClientOptions): RocketClient {
  const c = new RocketClient(options);
  // Errors belonging to no request would fail the test run: collect them as test failures instead.
  c.onError((error) => {
    throw error;
  });
  return resources.add(c, (x) => x.close());
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RocketError) return error.code;
    throw error;
  }
  return "ok";
}

describe("against a real gateway", () => {
  it("subscribes, publishes, receives, and rejects with the protocol's codes", async () => {
    const gw = resources.add(await startGateway(), (g) => g.stop());
    const rocket = client({ url: gw.url(), auth: readWrite });
    const got: unknown[] = [];
    rocket.on("room", "said", (m) => got.push(m.data));
    expect(await codeOf(rocket.publish("room", "said", 1))).toBe("invalid_channel");
    await rocket.subscribe("room");
    await rocket.publish("room", "said", { text: "hi" });
    await until(() => got.length === 1, 5000, "the delivery");
    expect(got).toEqual([{ text: "hi" }]);
    expect(rocket.state).toBe("open");

    const reader = client({ url: gw.url(), auth: { access: "read-only", secret: "" } });
    expect(await codeOf(reader.publish("room", "said", 2))).toBe("access_denied");
    expect(await codeOf(reader.subscribe(""))).toBe("invalid_channel_name");
    expect(await codeOf(reader.auth("read-write", "wrong"))).toBe("invalid_credentials");
    expect(await reader.ping()).toBeGreaterThanOrEqual(0);
  });

  it("reconnects after the socket drops mid-stream, resubscribes, and gets what is published after", async () => {
    const gw = resources.add(await startGateway(), (g) => g.stop());
    const proxy = resources.add(await startTcpProxy(gw.port), (p) => p.close());
    const subscriber = client({
      url: `ws://127.0.0.1:${proxy.port}/`,
      auth: { access: "read-only", secret: "" },
      reconnect: fastReconnect,
    });
    const publisher = client({ url: gw.url(), auth: readWrite });
    const received: number[] = [];
    subscriber.on<number>("stream", "tick", (m) => received.push(m.data));
    await subscriber.subscribe("stream");

    let seq = 0;
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        seq++;
        await publisher.publish("stream", "tick", seq);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      await until(() => received.length >= 20, 10_000, "20 messages before the drop");
      const reconnecting = nextState(subscriber, "reconnecting");
      const reopened = nextState(subscriber, "open");
      proxy.dropAll();
      expect((await reconnecting).closeCode).toBe(1006);
      await reopened;
      // Every publish that starts from here on must arrive.
      const mark = seq;
      await until(() => received.includes(mark + 50), 10_000, "50 messages after reconnecting");
      streaming = false;
      await stream;
      const after = received.filter((n) => n > mark);
      expect(after).toEqual(Array.from({ length: seq - mark }, (_, i) => mark + 1 + i));
      for (let i = 1; i < received.length; i++) expect(received[i]).toBeGreaterThan(received[i - 1] as number);
      expect(proxy.accepted()).toBe(2);
      expect(subscriber.subscriptions).toEqual(["stream"]);
    } finally {
      streaming = false;
      await stream;
    }
  });

  it("comes back after its node drains (1001) and sends what was queued only after resubscribing", async () => {
    const first = await startGateway();
    // One URL in front of the nodes, as a load balancer would be.
    const balancer = resources.add(await startTcpProxy(first.port), (p) => p.close());
    const rocket = client({ url: `ws://127.0.0.1:${balancer.port}/`, auth: readWrite, reconnect: fastReconnect });
    const got: unknown[] = [];
    rocket.on("room", "said", (m) => got.push(m.data));
    await rocket.subscribe("room");

    const reconnecting = nextState(rocket, "reconnecting");
    await first.stop();
    expect((await reconnecting).closeCode).toBe(1001);
    // The new node knows no channel: this publish succeeds only if "room" was resubscribed first.
    const queued = rocket.publish("room", "said", "sent while away");
    expect(rocket.queued).toBeGreaterThan(0);
    const second = resources.add(await startGateway(), (g) => g.stop());
    balancer.retarget(second.port);
    await queued;
    await until(() => got.includes("sent while away"), 5000, "the queued message");

    const other = resources.add(await TestClient.connect(second.url()), (c) => c.close());
    await other.auth("read-write", "test-secret");
    expect(await other.publish("room", "said", "from another client")).toEqual({ ok: true });
    await until(() => got.includes("from another client"), 5000, "a message published after reconnecting");
  });

  it("moves to the next URL of its list when its node dies", async () => {
    const a = resources.add(await startGateway(), (g) => g.stop());
    const b = resources.add(await startGateway(), (g) => g.stop());
    const rocket = client({ url: [a.url(), b.url()], auth: readWrite, reconnect: fastReconnect });
    const got: unknown[] = [];
    rocket.on("room", (m) => got.push(m.data));
    await rocket.subscribe("room");
    expect(rocket.url).toBe(a.url());

    const reopened = nextState(rocket, "open");
    a.proc.kill("SIGKILL");
    expect((await reopened).url).toBe(b.url());

    const other = resources.add(await TestClient.connect(b.url()), (c) => c.close());
    await other.auth("read-write", "test-secret");
    expect(await other.publish("room", "said", "on b")).toEqual({ ok: true });
    await rocket.publish("room", "said", "mine on b");
    await until(() => got.length === 2, 5000, "two messages on b");
    expect(got).toEqual(["on b", "mine on b"]);
  });
});
