import { type Bus, createMemoryBus, createMemoryRegistry } from "@rocket/bus";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createHub } from "./hub.js";
import { createMetrics } from "./metrics.js";
import { Session, type SessionSocket } from "./session.js";

function setup(bus?: Bus) {
  const sent: string[] = [];
  const topics = new Set<string>();
  const ended: number[] = [];
  const socket: SessionSocket = {
    send: (text) => sent.push(text),
    subscribe: (t) => topics.add(t),
    unsubscribe: (t) => topics.delete(t),
    end: (code) => ended.push(code),
  };
  const deliveries: string[] = [];
  const theBus = bus ?? createMemoryBus();
  theBus.onDeliver((_t, frame) => deliveries.push(Buffer.from(frame).toString()));
  const hub = createHub(
    { path: "/", secrets: { readOnly: "", readWrite: "rw" }, logFile: "", allowedOrigins: undefined, compression: false },
    createMetrics({ version: "test", redis: false }),
    pino({ level: "silent" }),
  );
  const session = new Session(hub, theBus, createMemoryRegistry(), socket, { maxDepth: 32 });
  const send = (frame: object) => session.receive(JSON.stringify(frame));
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { session, send, sent, topics, ended, deliveries, bus: theBus, settle };
}

describe("Session", () => {
  it("subscribes through the bus and the socket, then publishes the prebuilt frame", async () => {
    const s = setup();
    s.send({ auth: { access: "read-write", secret: "rw" } });
    s.send({ subscribe: { channel: "c" } });
    s.send({ publish: { event: "e", channel: "c", data: { a: 1 } } });
    await s.settle();
    expect(s.sent).toEqual(['{"ok":true}', '{"ok":true}', '{"ok":true}']);
    expect(s.topics).toEqual(new Set(["/:c"]));
    expect(s.deliveries).toEqual(['{"event":"e","channel":"c","data":{"a":1}}']);
  });

  it("keeps reply order when a slow bus operation is followed by instant ones", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const memory = createMemoryBus();
    const slow: Bus = { ...memory, subscribe: (t) => gate.then(() => memory.subscribe(t)) };
    const s = setup(slow);
    s.send({ auth: { access: "read-write", secret: "rw" } });
    s.send({ subscribe: { channel: "c" } });
    s.send({ auth: { access: "read-write", secret: "wrong" } });
    s.send({ bogus: 1 });
    await s.settle();
    expect(s.sent).toEqual(['{"ok":true}']);
    release();
    await s.settle();
    await s.settle();
    expect(s.sent).toEqual(['{"ok":true}', '{"ok":true}', '{"err":"invalid_credentials"}', '{"err":"invalid_data"}']);
  });

  it("answers unavailable when the bus fails, and drops the failed subscription", async () => {
    const memory = createMemoryBus();
    const failing: Bus = {
      ...memory,
      subscribe: () => Promise.reject(new Error("down")),
      publish: () => Promise.reject(new Error("down")),
    };
    const s = setup(failing);
    s.send({ auth: { access: "read-write", secret: "rw" } });
    s.send({ subscribe: { channel: "c" } });
    s.send({ publish: { event: "e", channel: "c", data: 1 } });
    await s.settle();
    await s.settle();
    expect(s.sent).toEqual(['{"ok":true}', '{"err":"unavailable"}', '{"err":"unavailable"}']);
    expect(s.topics.size).toBe(0);
  });

  it("releases its bus references on close, also for a subscribe still in flight", async () => {
    const counts = new Map<string, number>();
    const memory = createMemoryBus();
    const counting: Bus = {
      ...memory,
      subscribe: async (t) => {
        await new Promise((r) => setTimeout(r, 5));
        counts.set(t, (counts.get(t) ?? 0) + 1);
      },
      unsubscribe: async (t) => {
        counts.set(t, (counts.get(t) ?? 0) - 1);
      },
    };
    const s = setup(counting);
    s.send({ auth: { access: "read-only", secret: "" } });
    s.send({ subscribe: { channel: "a" } });
    s.send({ subscribe: { channel: "b" } });
    s.session.close();
    await new Promise((r) => setTimeout(r, 30));
    expect(Object.fromEntries(counts)).toEqual({ "/:a": 0, "/:b": 0 });
    expect(s.sent).toEqual(['{"ok":true}']);
  });

  it("closes with 1000 after replying ok to disconnect, and ignores later frames", async () => {
    const s = setup();
    s.send({ disconnect: true });
    s.send({ auth: { access: "read-only", secret: "" } });
    await s.settle();
    expect(s.sent).toEqual(['{"ok":true}']);
    expect(s.ended).toEqual([1000]);
  });
});
