import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type RedisProc, Resources, startRedis, startTcpProxy, until } from "../../../test/harness/index.js";
import { BusUnavailableError, type ChannelRegistry, type RedisBus, RedisTimeoutError } from "../src/index.js";
import { EventLog } from "./events.js";
import { readyRedisNode } from "./redis-bus.js";

type Happening =
  | { node: string; kind: "ready"; ready: boolean; reason: string }
  | { node: string; kind: "connection"; up: boolean }
  | { node: string; kind: "reconnected" }
  | { node: string; kind: "deliver"; text: string }
  | { node: string; kind: "log"; msg: string; obj: object };

describe("Redis outage (one bus per node, in process)", () => {
  const resources = new Resources();
  let redis: RedisProc;
  let log: EventLog<Happening>;
  beforeEach(async () => {
    redis = resources.add(await startRedis(), (r) => r.stop());
    log = new EventLog<Happening>();
  });
  afterEach(() => resources.close());

  /** A bus with its registry. */
  const node = async (
    name: string,
    options: {
      url?: string;
      peerGraceMs?: number;
      publishTimeoutMs?: number;
      canaryIntervalMs?: number;
      heartbeatIntervalMs?: number;
    } = {},
  ): Promise<RedisBus & { readonly registry: ChannelRegistry }> => {
    const record = (msg: string | undefined, obj: object) => log.push({ node: name, kind: "log", msg: msg ?? "", obj });
    const { bus, registry } = await readyRedisNode({
      url: options.url ?? redis.url,
      node: name,
      peerGraceMs: options.peerGraceMs,
      publishTimeoutMs: options.publishTimeoutMs ?? 2000,
      canaryIntervalMs: options.canaryIntervalMs,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      deliver: (_topic, frame) => log.push({ node: name, kind: "deliver", text: Buffer.from(frame).toString() }),
      logger: { debug: () => {}, info: (o, m) => record(m, o), warn: (o, m) => record(m, o), error: (o, m) => record(m, o) },
      observer: {
        readyChanged: (ready, reason) => log.push({ node: name, kind: "ready", ready, reason }),
        connectionChanged: (up) => log.push({ node: name, kind: "connection", up }),
        reconnected: () => log.push({ node: name, kind: "reconnected" }),
      },
    });
    return Object.assign(
      resources.add(bus, (b) => b.close()),
      { registry },
    );
  };
  const became = (name: string, ready: boolean, from: number, timeoutMs = 5000) =>
    log.waitFor((e) => e.node === name && e.kind === "ready" && e.ready === ready, timeoutMs, from, `${name} ready=${ready}`);
  const delivered = (name: string, text: string, from = 0) =>
    log.waitFor((e) => e.node === name && e.kind === "deliver" && e.text === text, 5000, from, `${name} got ${text}`);
  /**
   * Node a, back on `server` (a new run) and registered there, waits for b: not ready, and
   * its publish on `topic` refused, until `letB` lets b reconnect; then b is there on the new
   * run and a publish reaches both.
   */
  const waitsForB = async (server: RedisProc, a: RedisBus, topic: string, letB: () => void, from: number) => {
    const runId = /run_id:(\w+)/.exec(await server.cli("INFO", "server"))?.[1] ?? "no run_id";
    await waitForKey(server, "rocket:node:a", runId);
    expect(a.isReady()).toBe(false);
    await expect(a.publish(topic, Buffer.from("too early"))).rejects.toBeInstanceOf(BusUnavailableError);
    letB();
    await became("a", true, from);
    expect(await server.cli("GET", "rocket:node:b")).toBe(runId);
    await a.publish(topic, Buffer.from("after"));
    await Promise.all([delivered("a", "after", from), delivered("b", "after", from)]);
  };

  it("fails fast while Redis is down and restores subscriptions and registry when it returns", async () => {
    const a = await node("a");
    const b = await node("b");
    await Promise.all([
      a.subscribe("/:o"),
      b.subscribe("/:o"),
      a.registry.register("/", "o"),
      b.registry.register("/hub", "kept"),
    ]);
    expect(await a.registry.exists("/hub", "kept")).toBe(true);

    const from = log.items.length;
    await redis.kill9();
    await Promise.all([became("a", false, from), became("b", false, from)]);
    const started = performance.now();
    await expect(a.publish("/:o", Buffer.from("down"))).rejects.toBeInstanceOf(BusUnavailableError);
    await expect(b.subscribe("/:new")).rejects.toBeInstanceOf(BusUnavailableError);
    await expect(Promise.resolve(a.registry.exists("/", "unknown"))).rejects.toBeInstanceOf(BusUnavailableError);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(a.registry.exists("/", "o")).toBe(true);

    await redis.restart();
    await Promise.all([became("a", true, from), became("b", true, from)]);
    expect(
      log.items
        .slice(from)
        .filter((e) => e.kind === "reconnected")
        .map((e) => e.node)
        .sort(),
    ).toEqual(["a", "b"]);

    await b.publish("/:o", Buffer.from("back"));
    await Promise.all([delivered("a", "back", from), delivered("b", "back", from)]);
    expect(await redis.cli("PUBSUB", "NUMSUB", "rocket:msg:/:o")).toBe("rocket:msg:/:o\n2");
    expect(await redis.cli("SISMEMBER", "rocket:channels:/", "o")).toBe("1");
    expect(await redis.cli("SISMEMBER", "rocket:channels:/hub", "kept")).toBe("1");
  });

  it("turns not ready while Redis does not answer, and ready again once it does", async () => {
    const a = await node("a", { publishTimeoutMs: 300, canaryIntervalMs: 100 });
    await a.subscribe("/:h");
    const from = log.items.length;
    redis.proc.kill("SIGSTOP");
    try {
      // The canary's publish times out: the link's typed timeout, not a lost connection.
      const down = await became("a", false, from);
      expect(down).toMatchObject({ reason: "Redis not answering" });
      expect(a.state).toEqual({ phase: "restoring", reason: "Redis not answering" });
      await expect(a.publish("/:h", Buffer.from("hung"))).rejects.toBeInstanceOf(BusUnavailableError);
    } finally {
      redis.proc.kill("SIGCONT");
    }
    await became("a", true, from);
    await a.publish("/:h", Buffer.from("answering"));
    await delivered("a", "answering", from);
  });

  it("rejects each publish Redis does not answer at its own deadline, not before, with the link's typed timeout", async () => {
    const timeoutMs = 400;
    const a = await node("a", { publishTimeoutMs: timeoutMs, canaryIntervalMs: 60_000, heartbeatIntervalMs: 60_000 });
    await a.subscribe("/:h");
    await a.publish("/:h", Buffer.from("before"));
    redis.proc.kill("SIGSTOP");
    try {
      // Sent apart, so that the second's deadline is not the first's: one timer serves both.
      const outcome = (sent: number, p: Promise<void> | undefined) =>
        Promise.resolve(p).then(
          () => ({ acked: true, after: performance.now() - sent, cause: undefined as unknown }),
          (err: unknown) => ({ acked: false, after: performance.now() - sent, cause: (err as Error).cause }),
        );
      const first = outcome(performance.now(), a.publish("/:h", Buffer.from("one")));
      const second = outcome(performance.now(), a.publish("/:h", Buffer.from("two")));
      await new Promise((r) => setTimeout(r, timeoutMs / 2));
      expect(a.isReady()).toBe(true);
      const third = outcome(performance.now(), a.publish("/:h", Buffer.from("three")));
      const results = await Promise.all([first, second, third]);
      for (const { acked, after, cause } of results) {
        expect(acked).toBe(false);
        expect(cause).toBeInstanceOf(RedisTimeoutError);
        // Not before the deadline (timers may fire up to 1 ms early against performance.now());
        // the upper margin is generous for a loaded machine: the bound is PublishTimeoutMs, not
        // the exact moment.
        expect(after).toBeGreaterThanOrEqual(timeoutMs - 2);
        expect(after).toBeLessThan(timeoutMs + 1500);
      }
    } finally {
      redis.proc.kill("SIGCONT");
    }
    // The answers that come late change nothing; the next publish goes through.
    await until(() => a.isReady(), 5000, "ready again");
    await a.publish("/:h", Buffer.from("answering"));
    await delivered("a", "answering");
  });

  it("acknowledges again only once a peer seen before the outage has resubscribed", async () => {
    const proxy = resources.add(await startTcpProxy(redis.port), (p) => p.close());
    const a = await node("a", { peerGraceMs: 30_000 });
    const b = await node("b", { url: `redis://127.0.0.1:${proxy.port}` });
    await Promise.all([a.subscribe("/:p"), b.subscribe("/:p")]);
    // a has seen b once its heartbeat round ran.
    await log.waitFor((e) => e.node === "a" && e.kind === "log" && e.msg === "peer node joined", 5000, 0, "a sees b");

    const from = log.items.length;
    proxy.refuse(true);
    await redis.kill9();
    await Promise.all([became("a", false, from), became("b", false, from)]);
    await redis.restart();
    await waitsForB(redis, a, "/:p", () => proxy.refuse(false), from);
  });

  it("after a failover to a replica, also waits for a peer it had not seen yet (up moments before)", async () => {
    const replica = resources.add(await startRedis(), (r) => r.stop());
    expect(await replica.cli("REPLICAOF", "127.0.0.1", String(redis.port))).toBe("OK");
    const toA = resources.add(await startTcpProxy(redis.port), (p) => p.close());
    const toB = resources.add(await startTcpProxy(redis.port), (p) => p.close());
    // No heartbeat round of a's own before the failover: a never sees b as a peer in memory.
    const a = await node("a", { url: `redis://127.0.0.1:${toA.port}`, peerGraceMs: 30_000, heartbeatIntervalMs: 600_000 });
    const b = await node("b", { url: `redis://127.0.0.1:${toB.port}` });
    await Promise.all([a.subscribe("/:f"), b.subscribe("/:f")]);
    // The replica has b's registration (it lists b, with the old run id).
    await until(async () => (await replica.cli("SISMEMBER", "rocket:nodes", "b")) === "1", 5000, "b replicated");
    await until(async () => (await replica.cli("GET", "rocket:node:b")) !== "", 5000, "b's heartbeat replicated");
    expect(log.items.some((e) => e.node === "a" && e.kind === "log" && e.msg === "peer node joined")).toBe(false);

    const from = log.items.length;
    toB.refuse(true);
    await redis.kill9();
    expect(await replica.cli("REPLICAOF", "NO", "ONE")).toBe("OK");
    toA.retarget(replica.port);
    toB.retarget(replica.port);
    await waitsForB(replica, a, "/:f", () => toB.refuse(false), from);
  });

  it("goes on without a peer that does not come back within the grace period", async () => {
    const proxy = resources.add(await startTcpProxy(redis.port), (p) => p.close());
    const a = await node("a", { peerGraceMs: 500 });
    await node("b", { url: `redis://127.0.0.1:${proxy.port}` });
    await log.waitFor((e) => e.node === "a" && e.kind === "log" && e.msg === "peer node joined", 5000, 0, "a sees b");

    const from = log.items.length;
    proxy.refuse(true);
    await redis.kill9();
    await redis.restart();
    await became("a", true, from);
    const warning = await log.waitFor((e) => e.node === "a" && e.kind === "log" && e.msg.startsWith("peers did not"), 1000, from);
    expect((warning as { obj: { peers: string[] } }).obj.peers).toEqual(["b"]);
    await a.subscribe("/:q");
    await a.publish("/:q", Buffer.from("alone"));
    await delivered("a", "alone", from);
  });
});

function waitForKey(redis: RedisProc, key: string, value: string): Promise<void> {
  return until(async () => (await redis.cli("GET", key)) === value, 5000, `${key} = ${value}`);
}
