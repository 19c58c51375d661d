import { createMemoryEventQueue } from "@rocket/bus";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createWebhookSender, signWebhook } from "./webhook-sender.js";

const config = {
  url: "http://hooks.test/in",
  secret: "a-webhook-secret-0123",
  events: ["join", "leave"] as const,
  timeoutMs: 1000,
};

function setup(statuses: number[]) {
  const queue = createMemoryEventQueue();
  const posts: { body: string; signature: string | null }[] = [];
  const counts = { sent: 0, failed: 0, retried: 0 };
  let answered: () => void = () => {};
  const fetch = (async (_url: string, init: RequestInit) => {
    const headers = new Headers(init.headers);
    posts.push({ body: String(init.body), signature: headers.get("x-rocket-signature") });
    const status = statuses.shift() ?? 200;
    queueMicrotask(() => answered());
    return new Response("", { status });
  }) as unknown as typeof globalThis.fetch;
  const sender = createWebhookSender({
    config: { ...config, events: [...config.events] },
    queue,
    channelOf: (topic) => ({ hub: "/", channel: topic.slice(2) }),
    metrics: {
      sent: (n) => {
        counts.sent += n;
      },
      failed: () => {
        counts.failed += 1;
      },
      retried: () => {
        counts.retried += 1;
      },
      depth: () => {},
    },
    logger: pino({ level: "silent" }),
    fetch,
    timings: { idlePollMs: 5, firstRetryMs: 5, maxRetryMs: 20 },
  });
  const until = (done: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; posts ${JSON.stringify(posts)}`)), 5000);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        resolve();
      };
      answered = () => setImmediate(check);
      check();
    });
  return { queue, posts, counts, sender, until };
}

describe("webhook sender", () => {
  it("posts wanted events in one signed batch, with the user as the token gave it", async () => {
    const { queue, posts, counts, sender, until } = setup([]);
    queue.append({ name: "join", topic: "/:room", user: '"alice"', atMs: 1 });
    queue.append({ name: "channel_occupied", topic: "/:room", atMs: 1 });
    queue.append({ name: "leave", topic: "/:room", user: '"alice"', atMs: 2 });
    sender.start();
    await until(() => counts.sent === 2 && posts.length === 1);
    await sender.stop();
    const body = JSON.parse(posts[0]?.body ?? "{}");
    expect(body.events).toEqual([
      { name: "join", hub: "/", channel: "room", user: "alice" },
      { name: "leave", hub: "/", channel: "room", user: "alice" },
    ]);
    expect(typeof body.time_ms).toBe("number");
    expect(posts[0]?.signature).toBe(signWebhook(posts[0]?.body ?? "", config.secret));
    expect(await queue.depth()).toBe(0);
  });

  it("sends a refused batch again, with backoff, until it goes through, then acknowledges it", async () => {
    const { queue, posts, counts, sender, until } = setup([500, 503]);
    queue.append({ name: "join", topic: "/:room", user: '"bob"', atMs: 1 });
    sender.start();
    await until(() => counts.sent === 1);
    await sender.stop();
    expect(posts).toHaveLength(3);
    expect(new Set(posts.map((p) => p.body.replace(/"time_ms":\d+/, ""))).size).toBe(1);
    expect(counts).toEqual({ sent: 1, failed: 2, retried: 2 });
    expect(await queue.depth()).toBe(0);
  });
});
