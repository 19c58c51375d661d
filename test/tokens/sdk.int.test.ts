import { type ClientOptions, RocketClient, type StateChange, type Unsubscribed } from "@rocket/client";
import { afterAll, describe, expect, it } from "vitest";
import { Resources, startGateway, TestClient, until } from "../harness/index.js";
import { sign, tokenSecret } from "./sign.js";

const resources = new Resources();
afterAll(() => resources.close());

function client(options: ClientOptions): { rocket: RocketClient; states: StateChange[]; unsubscribed: Unsubscribed[] } {
  const rocket = resources.add(new RocketClient(options), (r) => r.close());
  const states: StateChange[] = [];
  const unsubscribed: Unsubscribed[] = [];
  rocket.onState((s) => states.push(s));
  rocket.onUnsubscribed((u) => unsubscribed.push(u));
  rocket.onError(() => {});
  return { rocket, states, unsubscribed };
}

const config = { Hubs: [{ Path: "/", Secret: "rw", Tokens: { Secret: tokenSecret, LeewaySeconds: 0 } }] };

describe("the client SDK with tokens, against a gateway", () => {
  it("refreshes short tokens in place: the connection and its channels outlive several of them", async () => {
    const gw = resources.add(await startGateway({ config }), (g) => g.stop());
    const rw = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    expect(await rw.auth("read-write", "rw")).toEqual({ ok: true });
    let fetched = 0;
    let allowed: Record<string, string[]> = { a: ["subscribe"], b: ["subscribe"] };
    const { rocket, states, unsubscribed } = client({
      url: gw.url(),
      // 3-second tokens: refreshed a second before each expires.
      getToken: async () => {
        fetched++;
        return sign({ sub: "sdk-user", cap: allowed }, { ttl: 3 });
      },
    });
    const got: unknown[] = [];
    rocket.on("a", (m) => got.push(m.data));
    await rocket.subscribe("a");
    await rocket.subscribe("b");
    await until(() => fetched >= 4, 15_000, "three refreshes", 100);
    expect(states.map((s) => s.state)).toEqual(["connecting", "open"]);
    expect(await rw.publish("a", "e", "still here")).toEqual({ ok: true });
    await until(() => got.length === 1, 5000, "the delivery");

    // The backend narrows the user's rights: the next refresh drops channel b.
    allowed = { a: ["subscribe"] };
    await until(() => unsubscribed.length === 1, 10_000, "the __unsubscribed event", 100);
    expect(unsubscribed).toEqual([{ channel: "b", reason: "access_denied" }]);
    expect(rocket.subscriptions).toEqual(["a"]);
    expect(rocket.state).toBe("open");
  });

  it("with a token it cannot renew, ends at the token's expiry with 4001", async () => {
    const gw = resources.add(await startGateway({ config }), (g) => g.stop());
    const { rocket, states } = client({ url: gw.url(), token: await sign({ cap: { a: ["subscribe"] } }, { ttl: 2 }) });
    await rocket.subscribe("a");
    await until(() => rocket.state === "closed", 10_000, "the close");
    expect(states.at(-1)).toMatchObject({ state: "closed", closeCode: 4001 });
  });

  it("waits as long as a refusing node's Retry-After says before trying again", async () => {
    const gw = resources.add(await startGateway({ config: { ...config, MaxConnectionsPerSecond: 1 } }), (g) => g.stop());
    // Takes the node's one connection of this second.
    resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    const { rocket, states } = client({
      url: gw.url(),
      getToken: () => sign({ cap: {} }),
      reconnect: { initialDelayMs: 10, maxDelayMs: 20 },
    });
    await until(() => rocket.state === "open", 10_000, "the connection");
    const retries = states.filter((s) => s.state === "reconnecting");
    expect(retries.length).toBeGreaterThanOrEqual(1);
    // Retry-After: 1 from the 503, not the 10–20 ms backoff.
    expect(retries[0]?.delayMs).toBeGreaterThanOrEqual(1000);
  });
});
