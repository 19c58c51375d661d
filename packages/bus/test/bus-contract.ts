import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Bus,
  BusUnavailableError,
  type ChannelRegistry,
  type HistoryOptions,
  nowMs,
  type PositionFormat,
  type StreamPosition,
} from "../src/index.js";

/** How a contract run makes buses. */
export interface BusContractFactory {
  /**
   * Creates a bus with its channel registry and resolves once the bus is ready. Buses created
   * with the same `scope` are nodes of one cluster; different scopes must not see each
   * other's messages or channels. Closing the bus releases the registry too. Called inside
   * tests, so it may use what a `beforeAll` hook started.
   */
  create(scope: string): Promise<{ bus: Bus; registry: ChannelRegistry }>;
  /** Whether buses of one scope reach each other (false for the in-process bus). */
  readonly multiNode: boolean;
  /**
   * Cuts `bus`'s connection that receives messages, as a network or Redis would (`CLIENT
   * KILL`); absent where nothing can come between a publish and its delivery (in-process).
   */
  readonly cutReceiver?: (bus: Bus) => Promise<void>;
}

interface Received {
  readonly topic: string;
  readonly text: string;
  readonly publishedAtMs: number;
  readonly position: StreamPosition | undefined;
}

/** Position pieces shaped like the wire's, so frames read back as JSON. */
const format: PositionFormat = { offset: ',"offset":', epoch: ',"epoch":"', end: '"}' };
const head = (text: string) => Buffer.from(`{"m":${JSON.stringify(text)}`, "utf8");
const framed = (text: string, p: StreamPosition) => `{"m":${JSON.stringify(text)},"offset":${p.offset},"epoch":"${p.epoch}"}`;

/** Polls `check` every 20 ms until it holds; for waits whose length is itself the promise (expiry). */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A bus, its registry and what it delivered, with a way to wait for deliveries. */
interface Node {
  readonly bus: Bus;
  readonly registry: ChannelRegistry;
  readonly received: Received[];
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
}

/**
 * The behaviour every Bus implementation shares: one delivery handler, order,
 * reference-counted unsubscribe, idempotent close, isolation of topics, hubs and scopes, the
 * channel registry, history (offsets, epochs, Size, expiry, reads after a position), and
 * (for multi-node buses) delivery and one order across nodes, one count of offsets, and
 * what a node missed read back before anything newer.
 */
export function runBusContract(name: string, factory: BusContractFactory): void {
  describe(`Bus contract: ${name}`, () => {
    const open: Bus[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((b) => b.close()));
    });

    const node = async (scope: string): Promise<Node> => {
      const received: Received[] = [];
      const waiters = new Set<() => void>();
      const { bus, registry } = await factory.create(scope);
      open.push(bus);
      bus.onDeliver((topic, frame, publishedAtMs, position) => {
        received.push({ topic, text: Buffer.from(frame).toString("latin1"), publishedAtMs, position });
        for (const w of [...waiters]) w();
      });
      return {
        bus,
        registry,
        received,
        waitFor(count, timeoutMs = 5000) {
          return new Promise((resolve, reject) => {
            const check = () => {
              if (received.length < count) return false;
              clearTimeout(timer);
              waiters.delete(check);
              resolve(received.slice(0, count));
              return true;
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              reject(new Error(`received ${received.length} of ${count}`));
            }, timeoutMs);
            if (!check()) waiters.add(check);
          });
        },
      };
    };
    const scope = () => `t${randomUUID().slice(0, 8)}`;
    const bytes = (text: string) => Buffer.from(text, "latin1");

    it("is ready and delivers the publisher's bytes untouched, with the publish time", async () => {
      const n = await node(scope());
      expect(n.bus.isReady()).toBe(true);
      await n.bus.subscribe("/:room");
      const frame = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x7b, 0x22, 0x0a]);
      const before = nowMs();
      await n.bus.publish("/:room", frame);
      const [got] = await n.waitFor(1);
      expect(got?.topic).toBe("/:room");
      expect(Buffer.from(got?.text ?? "", "latin1").equals(frame)).toBe(true);
      expect(got?.publishedAtMs).toBeGreaterThanOrEqual(before - 1);
      expect(got?.publishedAtMs).toBeLessThanOrEqual(nowMs() + 1);
    });

    it("delivers on topics named outside ASCII, and frames of any size, byte for byte", async () => {
      const n = await node(scope());
      const topics = ["/:café ☕", "/hub:日本語", "/:plain"];
      for (const topic of topics) await n.bus.subscribe(topic);
      const frames = [Buffer.alloc(0), Buffer.from("é"), Buffer.alloc(1024 * 1024, 0x61), Buffer.from([13, 10, 0x24, 0x2a])];
      const sent: { topic: string; frame: Buffer }[] = [];
      for (const topic of topics) for (const frame of frames) sent.push({ topic, frame });
      await Promise.all(sent.map(({ topic, frame }) => n.bus.publish(topic, frame)));
      const got = await n.waitFor(sent.length);
      for (const topic of topics) {
        const mine = got.filter((r) => r.topic === topic).map((r) => Buffer.from(r.text, "latin1"));
        expect(mine).toEqual(frames);
      }
    });

    it("has one delivery handler: a second registration throws", async () => {
      const n = await node(scope());
      expect(() => n.bus.onDeliver(() => {})).toThrow(/already has a delivery handler/);
      await n.bus.subscribe("/:one");
      await n.bus.publish("/:one", bytes("still the first"));
      expect((await n.waitFor(1)).map((r) => r.text)).toEqual(["still the first"]);
    });

    it("delivers in publish order", async () => {
      const n = await node(scope());
      await n.bus.subscribe("/:order");
      const sent = Array.from({ length: 300 }, (_, i) => `m${i}`);
      await Promise.all(sent.map((m) => n.bus.publish("/:order", bytes(m))));
      expect((await n.waitFor(300)).map((r) => r.text)).toEqual(sent);
    });

    it("resolves a publish nobody is subscribed to, and delivers nothing", async () => {
      const n = await node(scope());
      await n.bus.publish("/:nobody", bytes("lost"));
      await n.bus.subscribe("/:nobody");
      await n.bus.publish("/:nobody", bytes("after"));
      expect((await n.waitFor(1)).map((r) => r.text)).toEqual(["after"]);
      expect(n.received).toHaveLength(1);
    });

    it("counts references: only the last unsubscribe stops delivery", async () => {
      const n = await node(scope());
      await n.bus.subscribe("/:refs");
      await n.bus.subscribe("/:refs");
      await n.bus.unsubscribe("/:refs");
      await n.bus.publish("/:refs", bytes("one"));
      await n.waitFor(1);
      await n.bus.unsubscribe("/:refs");
      // Acknowledged while unsubscribed: it can never arrive, even after subscribing again.
      await n.bus.publish("/:refs", bytes("two"));
      await n.bus.subscribe("/:refs");
      await n.bus.publish("/:refs", bytes("three"));
      await n.waitFor(2);
      expect(n.received.map((r) => r.text)).toEqual(["one", "three"]);
    });

    it("treats unsubscribing a topic never subscribed as a no-op", async () => {
      const n = await node(scope());
      await expect(n.bus.unsubscribe("/:never")).resolves.toBeUndefined();
      await n.bus.subscribe("/:after");
      await n.bus.publish("/:after", bytes("x"));
      await n.waitFor(1);
    });

    it("keeps topics apart when one name is a prefix of another", async () => {
      const n = await node(scope());
      await n.bus.subscribe("/a:x");
      await n.bus.publish("/a:xy", bytes("wrong channel"));
      await n.bus.publish("/ab:x", bytes("wrong hub"));
      await n.bus.publish("/a:x", bytes("right"));
      await n.waitFor(1);
      await n.bus.subscribe("/a:xy");
      await n.bus.publish("/a:xy", bytes("now subscribed"));
      await n.waitFor(2);
      expect(n.received.map((r) => [r.topic, r.text])).toEqual([
        ["/a:x", "right"],
        ["/a:xy", "now subscribed"],
      ]);
    });

    it("keeps scopes apart (a different prefix is a different cluster)", async () => {
      const a = await node(scope());
      const b = await node(scope());
      await a.bus.subscribe("/:same");
      await b.bus.subscribe("/:same");
      await a.registry.register("/", "same");
      await a.bus.publish("/:same", bytes("for a"));
      await a.waitFor(1);
      await b.bus.publish("/:same", bytes("for b"));
      await b.waitFor(1);
      expect(b.received.map((r) => r.text)).toEqual(["for b"]);
      expect(a.received.map((r) => r.text)).toEqual(["for a"]);
      expect(await b.registry.exists("/", "same")).toBe(false);
    });

    it("registers channels per hub; a known channel is answered synchronously", async () => {
      const n = await node(scope());
      expect(await n.registry.exists("/", "reg")).toBe(false);
      await n.registry.register("/", "reg");
      await n.registry.register("/", "reg");
      expect(n.registry.exists("/", "reg")).toBe(true);
      expect(await n.registry.exists("/other", "reg")).toBe(false);
      expect(await n.registry.exists("/", "re")).toBe(false);
      expect(await n.registry.exists("/", "reg2")).toBe(false);
      // A publish asks the same question, synchronously for a known channel.
      expect(n.registry.publishing("/", "reg")).toBe(true);
      expect(await n.registry.publishing("/other", "reg")).toBe(false);
      expect(await n.registry.publishing("/", "reg2")).toBe(false);
    });

    it("keeps registry names and bus topics apart: registering a channel subscribes nothing", async () => {
      const n = await node(scope());
      await n.registry.register("/", "quiet");
      await n.bus.publish("/:quiet", bytes("nobody listens"));
      await n.bus.subscribe("/:loud");
      await n.bus.publish("/:loud", bytes("heard"));
      expect((await n.waitFor(1)).map((r) => r.text)).toEqual(["heard"]);
      expect(n.received).toHaveLength(1);
    });

    it("closes idempotently; afterwards it is not ready and refuses work", async () => {
      const n = await node(scope());
      await n.bus.subscribe("/:c");
      const first = n.bus.close();
      expect(n.bus.close()).toBe(first);
      await first;
      expect(n.bus.isReady()).toBe(false);
      await expect(n.bus.publish("/:c", bytes("x"))).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(n.bus.subscribe("/:c")).rejects.toBeInstanceOf(BusUnavailableError);
      await expect(n.bus.unsubscribe("/:c")).resolves.toBeUndefined();
      await n.bus.close();
    });

    describe("history", () => {
      const keep: HistoryOptions = { size: 5, ttlMs: 60_000 };
      const publishAll = async (bus: Bus, topic: string, texts: string[], options = keep) => {
        const positions: StreamPosition[] = [];
        for (const text of texts) positions.push(await bus.publishWithHistory(topic, head(text), options, format));
        return positions;
      };

      it("numbers messages from 1 in one epoch and delivers each completed frame with its position", async () => {
        const n = await node(scope());
        await n.bus.subscribe("/:h", keep);
        const texts = Array.from({ length: 30 }, (_, i) => `m${i}`);
        const positions = await publishAll(n.bus, "/:h", texts);
        const got = await n.waitFor(30);
        const epoch = positions[0]?.epoch ?? "";
        expect(epoch).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
        expect(positions).toEqual(texts.map((_, i) => ({ offset: i + 1, epoch })));
        expect(got.map((r) => r.position)).toEqual(positions);
        expect(got.map((r) => r.text)).toEqual(texts.map((t, i) => framed(t, { offset: i + 1, epoch })));
        expect(n.bus.deliveredPosition("/:h")).toEqual({ offset: 30, epoch });
      });

      it("keeps the last Size messages, the exact frames delivered, and reads them oldest first", async () => {
        const n = await node(scope());
        await n.bus.subscribe("/:kept", keep);
        const texts = Array.from({ length: 12 }, (_, i) => `k${i}`);
        const positions = await publishAll(n.bus, "/:kept", texts);
        const delivered = await n.waitFor(12);
        const epoch = positions[0]?.epoch ?? "";
        const page = await n.bus.history("/:kept", { limit: 100 }, keep);
        expect(page.position).toEqual({ offset: 12, epoch });
        expect(page.complete).toBe(true);
        expect(page.entries.map((e) => e.offset)).toEqual([8, 9, 10, 11, 12]);
        expect(page.entries.map((e) => Buffer.from(e.frame).toString("latin1"))).toEqual(delivered.slice(7).map((r) => r.text));
        const last2 = await n.bus.history("/:kept", { limit: 2 }, keep);
        expect(last2.entries.map((e) => e.offset)).toEqual([11, 12]);
      });

      it("reads what follows a position, and says when the messages after it are gone", async () => {
        const n = await node(scope());
        const positions = await publishAll(
          n.bus,
          "/:since",
          Array.from({ length: 12 }, (_, i) => `s${i}`),
        );
        const epoch = positions[0]?.epoch ?? "";
        const after9 = await n.bus.history("/:since", { since: { offset: 9, epoch }, limit: 100 }, keep);
        expect(after9).toMatchObject({ complete: true, position: { offset: 12, epoch } });
        expect(after9.entries.map((e) => e.offset)).toEqual([10, 11, 12]);
        const first2 = await n.bus.history("/:since", { since: { offset: 7, epoch }, limit: 2 }, keep);
        expect(first2.entries.map((e) => e.offset)).toEqual([8, 9]);
        expect(await n.bus.history("/:since", { since: { offset: 12, epoch }, limit: 100 }, keep)).toMatchObject({
          complete: true,
          entries: [],
        });
        for (const since of [
          { offset: 6, epoch },
          { offset: 13, epoch },
          { offset: 9, epoch: "another" },
        ]) {
          expect(await n.bus.history("/:since", { since, limit: 100 }, keep), JSON.stringify(since)).toMatchObject({
            complete: false,
            entries: [],
            position: { offset: 12, epoch },
          });
        }
      });

      it("publishes with history in the same turn as other commands, on a bus that never did", async () => {
        const n = await node(scope());
        await n.bus.subscribe("/:first", keep);
        const [exists, position] = await Promise.all([
          n.registry.exists("/", "not-yet"),
          n.bus.publishWithHistory("/:first", head("one"), keep, format),
        ]);
        expect(exists).toBe(false);
        expect(position.offset).toBe(1);
        expect((await n.waitFor(1)).map((r) => r.position)).toEqual([position]);
      });

      it("starts a history when one is read, which later publishes continue", async () => {
        const n = await node(scope());
        const page = await n.bus.history("/:fresh", { limit: 10 }, keep);
        expect(page).toMatchObject({ complete: true, entries: [], position: { offset: 0 } });
        const [first] = await publishAll(n.bus, "/:fresh", ["one"]);
        expect(first).toEqual({ offset: 1, epoch: page.position.epoch });
        const again = await n.bus.history("/:fresh", { since: page.position, limit: 10 }, keep);
        expect(again.complete).toBe(true);
        expect(again.entries.map((e) => e.offset)).toEqual([1]);
      });

      it("expires a history TtlSeconds after the last publish: a new epoch starts at 1", async () => {
        const n = await node(scope());
        const short = { size: 5, ttlMs: 300 };
        const [first] = await publishAll(n.bus, "/:ttl", ["a", "b"], short);
        const epoch = first?.epoch ?? "";
        expect((await n.bus.history("/:ttl", { limit: 5 }, short)).entries).toHaveLength(2);
        const started = Date.now();
        await eventually(
          async () => (await n.bus.history("/:ttl", { limit: 5 }, short)).position.epoch !== epoch,
          5000,
          "the history to expire",
        );
        // Not before its time (less a margin for clocks).
        expect(Date.now() - started).toBeGreaterThanOrEqual(150);
        const [next] = await publishAll(n.bus, "/:ttl", ["c"], short);
        expect(next?.offset).toBe(1);
        expect(next?.epoch).not.toBe(epoch);
        expect(
          await n.bus.history("/:ttl", { since: { offset: 2, epoch }, limit: 5 }, short),
          "recovery from the expired epoch",
        ).toMatchObject({ complete: false });
      });

      it("counts each topic apart and keeps history topics apart from plain ones", async () => {
        const n = await node(scope());
        await n.bus.subscribe("/:x", keep);
        await n.bus.subscribe("/:y");
        await publishAll(n.bus, "/:x", ["x1", "x2"]);
        const [y1] = await publishAll(n.bus, "/:x2", ["other"]);
        expect(y1?.offset).toBe(1);
        await n.bus.publish("/:y", bytes("plain"));
        const got = await n.waitFor(3);
        expect(got.map((r) => [r.topic, r.position?.offset])).toEqual([
          ["/:x", 1],
          ["/:x", 2],
          ["/:y", undefined],
        ]);
        expect(got[2]?.text).toBe("plain");
      });
    });

    if (factory.multiNode) {
      it("numbers a topic's messages once for the whole cluster: every node sees the same positions", async () => {
        const s = scope();
        const keep = { size: 1000, ttlMs: 60_000 };
        const [a, b] = await Promise.all([node(s), node(s)]);
        await Promise.all([a, b].map((n) => n.bus.subscribe("/:both", keep)));
        await Promise.all([
          ...Array.from({ length: 100 }, (_, i) => a.bus.publishWithHistory("/:both", head(`a${i}`), keep, format)),
          ...Array.from({ length: 100 }, (_, i) => b.bus.publishWithHistory("/:both", head(`b${i}`), keep, format)),
        ]);
        const [fromA, fromB] = await Promise.all([a.waitFor(200), b.waitFor(200)]);
        expect(fromA.map((r) => r.position?.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        expect(fromB.map((r) => r.text)).toEqual(fromA.map((r) => r.text));
      });

      const cut = factory.cutReceiver;
      if (cut) {
        it("reads back what a node missed while its receiving connection was cut, before anything newer", async () => {
          const s = scope();
          const keep = { size: 1000, ttlMs: 60_000 };
          const [a, b] = await Promise.all([node(s), node(s)]);
          await a.bus.subscribe("/:cut", keep);
          const publish = async (from: number, to: number) => {
            for (let i = from; i < to; i++) await b.bus.publishWithHistory("/:cut", head(`c${i}`), keep, format);
          };
          await publish(0, 20);
          await a.waitFor(20);
          await cut(a.bus);
          // Published while a has no receiving connection: lost on the way, read back later.
          await publish(20, 50);
          const got = await a.waitFor(50, 10_000);
          expect(got.map((r) => r.position?.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
          expect(a.received).toHaveLength(50);
        });
      }

      it("delivers a publish once to every node subscribed, the origin included", async () => {
        const s = scope();
        const [a, b, c] = await Promise.all([node(s), node(s), node(s)]);
        await Promise.all([a, b].map((n) => n.bus.subscribe("/:fan")));
        await a.bus.publish("/:fan", bytes("hello"));
        await Promise.all([a.waitFor(1), b.waitFor(1)]);
        await c.bus.subscribe("/:fan");
        await b.bus.publish("/:fan", bytes("again"));
        await Promise.all([a.waitFor(2), b.waitFor(2), c.waitFor(1)]);
        expect(a.received.map((r) => r.text)).toEqual(["hello", "again"]);
        expect(b.received.map((r) => r.text)).toEqual(["hello", "again"]);
        expect(c.received.map((r) => r.text)).toEqual(["again"]);
      });

      it("gives every node the same order of interleaved publishes from two nodes", async () => {
        const s = scope();
        const [a, b, c] = await Promise.all([node(s), node(s), node(s)]);
        await Promise.all([a, b, c].map((n) => n.bus.subscribe("/:mix")));
        const fromA = Array.from({ length: 200 }, (_, i) => `a${i}`);
        const fromB = Array.from({ length: 200 }, (_, i) => `b${i}`);
        await Promise.all([
          ...fromA.map((m) => a.bus.publish("/:mix", bytes(m))),
          ...fromB.map((m) => b.bus.publish("/:mix", bytes(m))),
        ]);
        const seen = await Promise.all([a, b, c].map((n) => n.waitFor(400)));
        const orders = seen.map((list) => list.map((r) => r.text));
        expect(orders[1]).toEqual(orders[0]);
        expect(orders[2]).toEqual(orders[0]);
        expect(orders[0]?.filter((m) => m.startsWith("a"))).toEqual(fromA);
        expect(orders[0]?.filter((m) => m.startsWith("b"))).toEqual(fromB);
      });

      it("shares the channel registry between nodes", async () => {
        const s = scope();
        const [a, b] = await Promise.all([node(s), node(s)]);
        await a.registry.register("/hub", "shared");
        expect(await b.registry.exists("/hub", "shared")).toBe(true);
        expect(b.registry.exists("/hub", "shared")).toBe(true);
        expect(await b.registry.exists("/hub", "other")).toBe(false);
      });

      it("answers concurrent lookups of one channel alike, in the order they were asked", async () => {
        const s = scope();
        const [a, b] = await Promise.all([node(s), node(s)]);
        await a.registry.register("/", "asked");
        const answers: string[] = [];
        await Promise.all(
          ["first", "second", "third"].map((who) =>
            Promise.resolve(b.registry.exists("/", "asked")).then((yes) => answers.push(`${who}:${yes}`)),
          ),
        );
        expect(answers).toEqual(["first:true", "second:true", "third:true"]);
      });
    }

    it("delivers each publish exactly once: nothing more arrives before a marker sent after the last", async () => {
      const n = await node(scope());
      await n.bus.subscribe("/:once");
      const sent = Array.from({ length: 100 }, (_, i) => `m${i}`);
      await Promise.all(sent.map((m) => n.bus.publish("/:once", bytes(m))));
      await n.bus.publish("/:once", bytes("marker"));
      // One order per topic: a duplicate or a stray would arrive before the marker and take its place.
      expect((await n.waitFor(101)).map((r) => r.text)).toEqual([...sent, "marker"]);
    });

    if (factory.multiNode) {
      it("interleaves two nodes' concurrent publishes, and every node sees them once, in one order", async () => {
        const s = scope();
        const [a, b, c] = await Promise.all([node(s), node(s), node(s)]);
        await Promise.all([a, b, c].map((n) => n.bus.subscribe("/:merge")));
        // Rounds of 20 from each node at once: the two streams interleave by construction, so
        // "the same order everywhere" is about a real merge, not one stream after the other.
        const fromA: string[] = [];
        const fromB: string[] = [];
        for (let round = 0; round < 10; round++) {
          const batchA = Array.from({ length: 20 }, (_, i) => `a${round * 20 + i}`);
          const batchB = Array.from({ length: 20 }, (_, i) => `b${round * 20 + i}`);
          fromA.push(...batchA);
          fromB.push(...batchB);
          await Promise.all([
            ...batchA.map((m) => a.bus.publish("/:merge", bytes(m))),
            ...batchB.map((m) => b.bus.publish("/:merge", bytes(m))),
          ]);
        }
        await a.bus.publish("/:merge", bytes("marker-a"));
        await b.bus.publish("/:merge", bytes("marker-b"));
        const orders = (await Promise.all([a, b, c].map((n) => n.waitFor(402)))).map((list) => list.map((r) => r.text));
        const [first = []] = orders;
        // The markers come last: nothing was delivered twice before them.
        expect(first.slice(400)).toEqual(["marker-a", "marker-b"]);
        expect(first.filter((m) => m.startsWith("a"))).toEqual(fromA);
        expect(first.filter((m) => m.startsWith("b"))).toEqual(fromB);
        const switches = first.slice(0, 400).filter((m, i) => i > 0 && m[0] !== first[i - 1]?.[0]).length;
        expect(switches).toBeGreaterThanOrEqual(10);
        expect(orders[1]).toEqual(first);
        expect(orders[2]).toEqual(first);
      });
    }
  });
}
