import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { AudienceEvent, Bus, ClusterAudience, EventQueue, StreamPosition } from "../src/index.js";

/** One node of an audience contract run. */
export interface AudienceNode {
  readonly bus: Bus;
  readonly audience: ClusterAudience;
  readonly queue: EventQueue;
  /** Stops the node as a crash would: nothing cleaned up (undefined where a node cannot die alone). */
  readonly crash?: () => Promise<void>;
  close(): Promise<void>;
}

export interface AudienceContractFactory {
  /** A node of the cluster `scope`, ready, recording every event. */
  create(scope: string): Promise<AudienceNode>;
  readonly multiNode: boolean;
  /** How long a crashed node's users may take to vanish, ms (the documented bound for this factory's timings). */
  readonly vanishMs?: number;
}

/** Frames shaped like the wire's: `{"event":"__join","user":U}`. */
const frames = { join: '{"event":"__join","user":', leave: '{"event":"__leave","user":', tail: "}" };
const json = (user: string) => JSON.stringify(user);

interface Heard {
  readonly topic: string;
  readonly text: string;
  readonly position: StreamPosition | undefined;
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every event the queue holds now, acknowledged (so that later reads see only newer ones). */
async function drain(queue: EventQueue): Promise<AudienceEvent[]> {
  const all: AudienceEvent[] = [];
  for (;;) {
    const batch = await queue.take(100);
    if (batch.ids.length === 0) return all;
    all.push(...batch.events);
    await queue.ack(batch);
  }
}

/**
 * What every cluster audience must do: join/leave decided once for the cluster and published
 * in the topic's order, sums of every node's part, events recorded once, and (where nodes
 * are separate) a crashed node's part vanishing without a restart.
 */
export function runAudienceContract(name: string, factory: AudienceContractFactory): void {
  describe(`audience contract: ${name}`, () => {
    const open: AudienceNode[] = [];
    afterEach(async () => {
      await Promise.allSettled(open.splice(0).map((n) => n.close()));
    });
    const node = async (scope: string, history = false) => {
      const n = await factory.create(scope);
      open.push(n);
      const heard: Heard[] = [];
      n.bus.onDeliver((topic, frame, _at, position) => heard.push({ topic, text: Buffer.from(frame).toString(), position }));
      n.audience.onDescribe((topic) => ({
        history: history && topic.startsWith("h"),
        frames: topic.startsWith("x") ? undefined : frames,
      }));
      return { ...n, heard };
    };

    it("publishes a user's first join and last leave in order with the topic's messages", async () => {
      const scope = randomUUID();
      const a = await node(scope);
      await a.bus.subscribe("t");
      a.audience.setUser("t", json("alice"), 1);
      await a.audience.settled();
      expect(await a.bus.publish("t", Buffer.from("m1"))).toBeUndefined;
      a.audience.setUser("t", json("alice"), 2);
      a.audience.setUser("t", json("bob"), 1);
      a.audience.setUser("t", json("alice"), 0);
      await a.audience.settled();
      await eventually(() => a.heard.length >= 4, 5000, "frames");
      expect(a.heard.map((h) => h.text)).toEqual([
        '{"event":"__join","user":"alice"}',
        "m1",
        '{"event":"__join","user":"bob"}',
        '{"event":"__leave","user":"alice"}',
      ]);
      expect(await a.audience.users("t")).toEqual([{ user: json("bob"), connections: 1 }]);
      expect(await a.audience.users("none")).toEqual([]);
    });

    it("publishes nothing for a topic without frames, and frames without a position on a history topic", async () => {
      const scope = randomUUID();
      const a = await node(scope, true);
      await a.bus.subscribe("x", undefined);
      await a.bus.subscribe("h", { size: 10, ttlMs: 60_000 });
      a.audience.setUser("x", json("alice"), 1);
      a.audience.setUser("h", json("alice"), 1);
      await a.audience.settled();
      await eventually(() => a.heard.length >= 1, 5000, "the history topic's join");
      expect(a.heard).toEqual([{ topic: "h", text: '{"event":"__join","user":"alice"}', position: undefined }]);
      expect(await a.audience.users("x")).toEqual([{ user: json("alice"), connections: 1 }]);
    });

    it("records occupied, join, leave and vacated once each", async () => {
      const scope = randomUUID();
      const a = await node(scope);
      await drain(a.queue);
      // Changes one node makes before the last reached the cluster may be coalesced: settle each.
      for (const change of [
        () => a.audience.setOccupied("t", true),
        () => a.audience.setUser("t", json("alice"), 1),
        () => a.audience.setUser("t", json("alice"), 0),
        () => a.audience.setOccupied("t", false),
      ]) {
        change();
        await a.audience.settled();
      }
      const events = await drain(a.queue);
      expect(events.map((e) => [e.name, e.topic, e.user])).toEqual([
        ["channel_occupied", "t", undefined],
        ["join", "t", json("alice")],
        ["leave", "t", json("alice")],
        ["channel_vacated", "t", undefined],
      ]);
      expect(await a.queue.depth()).toBe(0);
    });

    if (factory.multiNode) {
      it("sums every node's part: one join and one leave for a user on two nodes", async () => {
        const scope = randomUUID();
        const [a, b] = [await node(scope), await node(scope)];
        await drain(a.queue);
        await a.bus.subscribe("t");
        a.audience.setOccupied("t", true);
        b.audience.setOccupied("t", true);
        a.audience.setUser("t", json("alice"), 1);
        await a.audience.settled();
        b.audience.setUser("t", json("alice"), 2);
        await b.audience.settled();
        expect(await a.audience.users("t")).toEqual([{ user: json("alice"), connections: 3 }]);
        a.audience.setUser("t", json("alice"), 0);
        a.audience.setOccupied("t", false);
        await a.audience.settled();
        b.audience.setUser("t", json("alice"), 0);
        b.audience.setOccupied("t", false);
        await b.audience.settled();
        await eventually(() => a.heard.length >= 2, 5000, "join and leave");
        expect(a.heard.map((h) => h.text)).toEqual(['{"event":"__join","user":"alice"}', '{"event":"__leave","user":"alice"}']);
        // Both nodes read the one queue: each event comes out once.
        const [fromA, fromB] = await Promise.all([drain(a.queue), drain(b.queue)]);
        expect([...fromA, ...fromB].map((e) => e.name).sort()).toEqual(["channel_occupied", "channel_vacated", "join", "leave"]);
      });

      it("removes a crashed node's users and subscriber mark, with their leaves", async () => {
        const scope = randomUUID();
        const [a, b] = [await node(scope), await node(scope)];
        await drain(a.queue);
        await a.bus.subscribe("t");
        a.audience.setUser("t", json("alice"), 1);
        b.audience.setUser("t", json("alice"), 1);
        b.audience.setUser("t", json("bob"), 1);
        b.audience.setOccupied("t", true);
        await Promise.all([a.audience.settled(), b.audience.settled()]);
        await eventually(() => a.heard.length >= 2, 5000, "joins");
        const crashedAt = Date.now();
        await b.crash?.();
        await eventually(
          async () => JSON.stringify(await a.audience.users("t")) === JSON.stringify([{ user: json("alice"), connections: 1 }]),
          (factory.vanishMs ?? 5000) + 2000,
          "bob gone",
        );
        expect(Date.now() - crashedAt).toBeLessThan((factory.vanishMs ?? 5000) + 2000);
        await eventually(() => a.heard.length >= 3, 5000, "bob's leave");
        expect(a.heard.map((h) => h.text)).toEqual([
          '{"event":"__join","user":"alice"}',
          '{"event":"__join","user":"bob"}',
          '{"event":"__leave","user":"bob"}',
        ]);
        const names = (await drain(a.queue)).map((e) => `${e.name}:${e.user ?? ""}`);
        expect(names.sort()).toEqual(
          ["channel_occupied:", "channel_vacated:", 'join:"alice"', 'join:"bob"', 'leave:"bob"'].sort(),
        );
      });
    }
  });
}
