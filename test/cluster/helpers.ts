import { expect } from "vitest";
import {
  type GatewayProc,
  type RedisClusterProc,
  type RedisProc,
  type Resources,
  startGateway,
  TestClient,
  until,
} from "../harness/index.js";

/** `ROCKET_PUBLISH_TIMEOUT_MS` in fault tests: small, so that its bound is tested quickly. */
export const publishTimeoutMs = 500;

/**
 * Slack on top of a documented time bound, where the bound is the promise under test: the
 * tests run on a busy 2-core machine, so replies and timers come late, never early.
 */
export const marginMs = 1000;

/**
 * How soon a gateway serves again once Redis is back (docs/operations.md, "Redis outage"):
 * it reconnects within 500 ms and waits at most 2000 ms for the other gateways.
 */
export const recoveryBoundMs = 500 + 2000;

/** The read-write secret the harness gives every gateway. */
export const secret = "test-secret";

/** The Redis channel of a channel in the default hub "/". */
export const redisChannel = (channel: string, hub = "/") => `rocket:msg:${hub}:${channel}`;

/** One channel of the default hub per master of `cluster` (`shard-<n>`), with its owner. */
export async function channelPerShard(
  cluster: RedisClusterProc,
  shards: number,
): Promise<{ channels: string[]; owners: RedisProc[] }> {
  const byMaster = new Map<RedisProc, string>();
  for (let i = 0; byMaster.size < shards && i < 1000; i++) {
    const owner = await cluster.ownerOf(redisChannel(`shard-${i}`));
    if (!byMaster.has(owner)) byMaster.set(owner, `shard-${i}`);
  }
  return { channels: [...byMaster.values()], owners: [...byMaster.keys()] };
}

/** The /readyz status code. */
export async function readyz(gw: GatewayProc): Promise<number> {
  const res = await fetch(gw.http("/readyz"));
  await res.text();
  return res.status;
}

export function waitReady(gw: GatewayProc, timeoutMs = 10_000): Promise<void> {
  return until(async () => (await readyz(gw)) === 200, timeoutMs, `${gw.url()} ready`, 50);
}

/**
 * Starts `count` gateways on one Redis and resolves once each is ready and knows all the
 * others (it logged "peer node joined" for each), so that an outage right after finds every
 * node waiting for the others.
 */
export async function startNodes(
  resources: Resources,
  redisUrl: string,
  count: number,
  env: Record<string, string> = {},
): Promise<GatewayProc[]> {
  const nodes = await Promise.all(
    Array.from({ length: count }, async () => resources.add(await startGateway({ redisUrl, env }), (g) => g.stop())),
  );
  await Promise.all(
    nodes.map((gw) =>
      until(() => gw.proc.lines.filter((l) => l.includes('"msg":"peer node joined"')).length >= count - 1, 10_000, "peers known"),
    ),
  );
  return nodes;
}

/** A read-only client subscribed to `channels`. */
export async function subscriber(resources: Resources, gw: GatewayProc, ...channels: string[]): Promise<TestClient> {
  const client = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
  expect(await client.auth("read-only", ""), "auth").toEqual({ ok: true });
  for (const channel of channels) expect(await client.subscribe(channel), `subscribe ${channel}`).toEqual({ ok: true });
  return client;
}

/** A read-write client. */
export async function publisher(resources: Resources, gw: GatewayProc): Promise<TestClient> {
  const client = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
  expect(await client.auth("read-write", secret)).toEqual({ ok: true });
  return client;
}

/** Sends all publishes at once, then collects the replies (they come in request order). */
export async function publishMany(
  client: TestClient,
  channel: string | ((i: number) => string),
  data: (i: number) => unknown,
  count: number,
  timeoutMs = 15_000,
): Promise<unknown[]> {
  for (let i = 0; i < count; i++) {
    client.send({ publish: { event: "m", channel: typeof channel === "string" ? channel : channel(i), data: data(i) } });
  }
  const replies: unknown[] = [];
  for (let i = 0; i < count; i++) replies.push(await client.nextReply(timeoutMs));
  return replies;
}

/** `PUBSUB NUMSUB <channel>` as a number. */
export async function numSub(cli: (...args: string[]) => Promise<string>, channel: string): Promise<number> {
  const out = await cli("PUBSUB", "NUMSUB", channel);
  return Number(out.split("\n")[1]);
}

/** The ok reply as the client sees it. */
export const ok = '{"ok":true}';

/** One publish of a {@link ContinuousPublisher}: when it was sent and how it was answered. */
export interface Sent {
  readonly p: string;
  readonly i: number;
  readonly sentAt: number;
  repliedAt?: number;
  reply?: string;
}

/** When `s` was answered; NaN while unanswered, so that it falls inside no time window (as `undefined` did). */
export function answeredAt(s: Sent): number {
  return s.repliedAt ?? Number.NaN;
}

/** Publishes one message at a time, as fast as replies come (a little slower after an error). */
export class ContinuousPublisher {
  readonly sent: Sent[] = [];
  private running = true;
  readonly done: Promise<void>;

  constructor(
    readonly client: TestClient,
    readonly tag: string,
    readonly channel: string,
  ) {
    this.done = (async () => {
      for (let i = 0; this.running; i++) {
        const entry: Sent = { p: tag, i, sentAt: performance.now() };
        this.sent.push(entry);
        const reply = await client.request({ publish: { event: "m", channel, data: { p: tag, i } } }, 10_000);
        entry.repliedAt = performance.now();
        entry.reply = JSON.stringify(reply);
        // Pace the loop: errors come back at once while Redis is down.
        await new Promise((r) => setTimeout(r, entry.reply === ok ? 1 : 5));
      }
    })();
  }

  stop(): Promise<void> {
    this.running = false;
    return this.done;
  }

  acked(after = 0): Sent[] {
    return this.sent.filter((s) => s.reply === ok && s.sentAt >= after);
  }
}
