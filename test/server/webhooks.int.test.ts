import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { WebhookBody, WebhookEvent } from "@rocket/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { type GatewayProc, Resources, startRedis, until } from "../harness/index.js";
import { api, startServerNodes, userClient } from "./helpers.js";

const secret = "webhook-secret-0123456789";

/** A local endpoint that checks each POST's signature and answers with `status(n)` for the n-th POST (from 1). */
class Receiver {
  readonly events: WebhookEvent[] = [];
  readonly bodies: WebhookBody[] = [];
  posts = 0;
  badSignatures = 0;
  readonly server: Server;

  constructor(private readonly status: (n: number) => number) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.posts += 1;
        const raw = Buffer.concat(chunks);
        const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`);
        const given = Buffer.from(String(req.headers["x-rocket-signature"] ?? ""));
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) this.badSignatures += 1;
        const code = this.status(this.posts);
        if (code === 200) {
          const body = JSON.parse(raw.toString()) as WebhookBody;
          this.bodies.push(body);
          this.events.push(...body.events);
        }
        res.writeHead(code, { "content-type": "text/plain" }).end(code === 200 ? "ok" : "no");
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Events as `name channel user` lines, sorted. */
  lines(): string[] {
    return this.events.map((e) => `${e.name} ${e.hub}${e.channel} ${e.user ?? ""}`.trim()).sort();
  }
}

/** A metric's value summed over `nodes`' /metrics. */
async function metricSum(nodes: readonly GatewayProc[], name: string): Promise<number> {
  let total = 0;
  for (const gw of nodes) {
    const text = await (await fetch(gw.http("/metrics"))).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    total += Number(line?.split(" ")[1] ?? 0);
  }
  return total;
}

describe("webhooks: 3 gateways, 1 Redis", () => {
  const resources = new Resources();
  afterEach(() => resources.close());

  async function cluster(receiver: Receiver) {
    const url = await receiver.listen();
    resources.add(receiver, (r) => r.close());
    const redis = resources.add(await startRedis(), (r) => r.stop());
    const nodes = await startServerNodes(resources, redis.url, 3, {
      ROCKET_WEBHOOKS: JSON.stringify({ Url: url, Secret: secret }),
    });
    return { redis, nodes };
  }

  it("sends each event once for the whole cluster, signed, in batches", async () => {
    const receiver = new Receiver(() => 200);
    const { redis, nodes } = await cluster(receiver);
    const expected: string[] = [];
    // Every channel gains users on two nodes and loses them again: events decided on every node.
    // Each step waits until the cluster shows it: a node coalesces changes that come faster
    // than Redis takes them (a user in and out within that time is never announced).
    for (let i = 0; i < 6; i++) {
      const channel = `room:w${i}`;
      const [x, y] = [nodes[i % 3] as GatewayProc, nodes[(i + 1) % 3] as GatewayProc];
      const shows = (...who: string[]) =>
        until(
          async () => {
            const listed = (await api(x, "GET", `/api/presence?channel=${channel}`)).body.users as { user: string }[];
            return (
              listed
                .map((u) => u.user)
                .sort()
                .join() === who.join()
            );
          },
          5000,
          `${channel} showing ${who.join()}`,
        );
      const u1 = await userClient(resources, x, `u${i}a`);
      const u2 = await userClient(resources, y, `u${i}b`);
      expect(await u1.subscribe(channel)).toEqual({ ok: true });
      await shows(`u${i}a`);
      expect(await u2.subscribe(channel)).toEqual({ ok: true });
      await shows(`u${i}a`, `u${i}b`);
      expect(await u1.request({ unsubscribe: { channel } })).toEqual({ ok: true });
      await shows(`u${i}b`);
      expect(await u2.request({ unsubscribe: { channel } })).toEqual({ ok: true });
      expected.push(
        `channel_occupied /${channel}`,
        `join /${channel} u${i}a`,
        `join /${channel} u${i}b`,
        `leave /${channel} u${i}a`,
        `leave /${channel} u${i}b`,
        `channel_vacated /${channel}`,
      );
    }
    await until(() => receiver.events.length >= expected.length, 15_000, "every event");
    // Nothing left in the queue: every event was acknowledged, so none can be sent again.
    await until(async () => (await redis.cli("XLEN", "rocket:webhooks")) === "0", 10_000, "an empty queue");
    expect(receiver.lines()).toEqual([...expected].sort());
    expect(receiver.badSignatures).toBe(0);
    for (const body of receiver.bodies) {
      expect(body.time_ms).toBeGreaterThan(Date.now() - 60_000);
      expect(body.events.length).toBeLessThanOrEqual(100);
    }
    // Per channel, within each batch, the order the cluster decided: occupied before the
    // joins, vacated after the leaves. Batches sent by different gateways may arrive in any
    // order (docs/operations.md, "Webhooks", Order), so across batches nothing is asserted.
    for (let i = 0; i < 6; i++) {
      const decided = expected.filter((line) => line.includes(`/room:w${i}`));
      for (const body of receiver.bodies) {
        const own = body.events
          .filter((e) => e.channel === `room:w${i}`)
          .map((e) => decided.indexOf(`${e.name} ${e.hub}${e.channel} ${e.user ?? ""}`.trim()));
        expect(own, `room:w${i} in one batch`).toEqual([...own].sort((x, y) => x - y));
        expect(own).not.toContain(-1);
      }
    }
    expect(await metricSum(nodes, "rocket_webhook_events_sent_total")).toBe(expected.length);
  });

  it("sends again after the endpoint answered 500", async () => {
    const receiver = new Receiver((n) => (n === 1 ? 500 : 200));
    const { nodes } = await cluster(receiver);
    const u = await userClient(resources, nodes[0] as GatewayProc, "retry");
    expect(await u.subscribe("room:retry")).toEqual({ ok: true });
    await until(() => receiver.events.some((e) => e.name === "join" && e.user === "retry"), 15_000, "the join after a retry");
    expect(receiver.posts).toBeGreaterThanOrEqual(2);
    expect(receiver.lines()).toEqual(["channel_occupied /room:retry", "join /room:retry retry"]);
    expect(await metricSum(nodes, "rocket_webhook_requests_failed_total")).toBeGreaterThanOrEqual(1);
    expect(await metricSum(nodes, "rocket_webhook_retries_total")).toBeGreaterThanOrEqual(1);
  });
});
