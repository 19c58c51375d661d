import { type Bus, type ChannelRegistry, createMemoryBus, createMemoryRegistry } from "@rocket/bus";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createHistoryReader } from "./history-reader.js";
import { createHub } from "./hub.js";
import { createMetrics } from "./metrics.js";
import { Outbox, type OutboxSocket } from "./outbox.js";
import { PendingJoins } from "./pending-joins.js";
import { createPublisher } from "./publisher.js";
import { createRecovery } from "./recovery.js";
import { Session } from "./session.js";
import { createSubscriber } from "./subscriber.js";
import { WriteBatch } from "./write-batch.js";

function setup(bus: Bus = createMemoryBus(), registry: ChannelRegistry = createMemoryRegistry()) {
  const sent: string[] = [];
  const topics = new Set<string>();
  const ended: number[] = [];
  const watchers = new Set<() => void>();
  const changed = () => {
    for (const watch of [...watchers]) watch();
  };
  const socket: OutboxSocket = {
    send: (message) => {
      sent.push(typeof message === "string" ? message : Buffer.from(message).toString());
      changed();
    },
    cork: (write) => write(),
    subscribe: (t) => topics.add(t),
    unsubscribe: (t) => topics.delete(t),
    end: (code) => {
      ended.push(code);
      changed();
    },
  };
  const deliveries: string[] = [];
  const joins = new PendingJoins();
  // As fan-out does: every delivery, also to the sockets whose join waits for their ok.
  bus.onDeliver((topic, frame) => {
    deliveries.push(Buffer.from(frame).toString());
    joins.deliver(topic, frame);
  });
  const hub = createHub(
    {
      path: "/",
      secrets: { readOnly: "", readWrite: "rw" },
      logFile: "",
      allowedOrigins: undefined,
      compression: false,
      history: { history: undefined, prefixes: [] },
    },
    createMetrics({ version: "test", redis: false }),
    pino({ level: "silent" }),
  );
  const outbox = new Outbox(socket, { counters: hub.counters, batch: new WriteBatch() });
  const session = new Session(
    {
      hub,
      publisher: createPublisher(hub, bus, registry),
      subscriber: createSubscriber(hub, bus, registry, createRecovery(bus), joins),
      history: createHistoryReader(hub, bus),
      decodeOptions: { maxDepth: 32 },
    },
    outbox,
  );
  // As the socket handlers do: each frame inside the outbox's handler bracket.
  const send = (frame: object) => {
    outbox.enterHandler();
    session.receive(JSON.stringify(frame));
    outbox.exitHandler();
  };
  /** Resolves once `done()` holds, checked after every write and end. */
  const until = (done: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; sent ${JSON.stringify(sent)}`)), 5000);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        watchers.delete(check);
        resolve();
      };
      watchers.add(check);
      check();
    });
  /** Lets everything already under way run (for checks that nothing more happened). */
  const settle = () => new Promise((r) => setImmediate(r)).then(() => new Promise((r) => setImmediate(r)));
  return { session, send, sent, topics, ended, deliveries, bus, until, settle };
}

/** A gate a fake bus operation waits on. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe("Session", () => {
  it("subscribes through the bus and the socket, then publishes the prebuilt frame", async () => {
    const s = setup();
    s.send({ auth: { access: "read-write", secret: "rw" } });
    s.send({ subscribe: { channel: "c" } });
    s.send({ publish: { event: "e", channel: "c", data: { a: 1 } } });
    await s.until(() => s.sent.length === 3);
    expect(s.sent).toEqual(['{"ok":true}', '{"ok":true}', '{"ok":true}']);
    expect(s.topics).toEqual(new Set(["/:c"]));
    expect(s.deliveries).toEqual(['{"event":"e","channel":"c","data":{"a":1}}']);
  });

  it("publishes on a channel it is subscribed to without asking the registry, and asks for any other", async () => {
    const memory = createMemoryRegistry();
    const asked: string[] = [];
    const registry: ChannelRegistry = {
      ...memory,
      publishing: (hub, channel) => {
        asked.push(channel);
        return memory.publishing(hub, channel);
      },
    };
    const s = setup(createMemoryBus(), registry);
    s.send({ auth: { access: "read-write", secret: "rw" } });
    s.send({ subscribe: { channel: "mine" } });
    await s.until(() => s.sent.length === 2);
    // Until the subscribe has settled, a publish waits for it and then asks as any other.
    await s.settle();
    s.send({ publish: { event: "e", channel: "mine", data: 1 } });
    s.send({ publish: { event: "e", channel: "nobody's", data: 2 } });
    s.send({ unsubscribe: { channel: "mine" } });
    s.send({ publish: { event: "e", channel: "mine", data: 3 } });
    await s.until(() => s.sent.length === 6);
    expect(s.sent.slice(2)).toEqual(['{"ok":true}', '{"err":"invalid_channel"}', '{"ok":true}', '{"ok":true}']);
    // Held, the channel needs no lookup; left, it is asked about again (it lives on for its TTL).
    expect(asked).toEqual(["nobody's", "mine"]);
    // The last one reaches nobody: no connection of this node is subscribed any more.
    expect(s.deliveries).toEqual(['{"event":"e","channel":"mine","data":1}']);
  });

  it("keeps reply order when a slow bus operation is followed by instant ones", async () => {
    const subscribed = gate();
    const memory = createMemoryBus();
    const slow: Bus = { ...memory, subscribe: (t) => subscribed.opened.then(() => memory.subscribe(t)) };
    const s = setup(slow);
    s.send({ auth: { access: "read-write", secret: "rw" } });
    s.send({ subscribe: { channel: "c" } });
    s.send({ auth: { access: "read-write", secret: "wrong" } });
    s.send({ bogus: 1 });
    await s.settle();
    expect(s.sent).toEqual(['{"ok":true}']);
    subscribed.open();
    await s.until(() => s.sent.length === 4);
    expect(s.sent).toEqual(['{"ok":true}', '{"ok":true}', '{"err":"invalid_credentials"}', '{"err":"invalid_data"}']);
  });

  it("joins a topic only once the subscribe's ok is out, when an earlier reply is still pending", async () => {
    const acked = gate();
    const memory = createMemoryBus();
    const slow: Bus = { ...memory, publish: (t, f) => acked.opened.then(() => memory.publish(t, f)) };
    const s = setup(slow);
    s.send({ auth: { access: "read-write", secret: "rw" } });
    s.send({ subscribe: { channel: "c1" } });
    await s.until(() => s.sent.length === 2);
    s.send({ publish: { event: "e", channel: "c1", data: 1 } });
    s.send({ subscribe: { channel: "c2" } });
    await s.settle();
    // Subscribed in the bus, but the ok waits behind the publish's: the socket must not be on the topic yet.
    expect(s.sent).toHaveLength(2);
    expect(s.topics).toEqual(new Set(["/:c1"]));
    // A message on c2 meanwhile comes through the outbox, behind the ok.
    await memory.publish("/:c2", Buffer.from('{"event":"e","channel":"c2","data":2}'));
    await s.settle();
    expect(s.sent).toHaveLength(2);
    acked.open();
    await s.until(() => s.sent.length === 5);
    expect(s.sent.slice(2)).toEqual(['{"ok":true}', '{"ok":true}', '{"event":"e","channel":"c2","data":2}']);
    // Joined in the same step as the last of those was written: later messages come from uWS.
    expect(s.topics).toEqual(new Set(["/:c1", "/:c2"]));
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
    await s.until(() => s.sent.length === 3);
    expect(s.sent).toEqual(['{"ok":true}', '{"err":"unavailable"}', '{"err":"unavailable"}']);
    expect(s.topics.size).toBe(0);
  });

  it("releases its bus references on close, also for a subscribe still in flight", async () => {
    const counts = new Map<string, number>();
    const subscribed = gate();
    const released = gate();
    const memory = createMemoryBus();
    const counting: Bus = {
      ...memory,
      subscribe: async (t) => {
        await subscribed.opened;
        counts.set(t, (counts.get(t) ?? 0) + 1);
      },
      unsubscribe: async (t) => {
        counts.set(t, (counts.get(t) ?? 0) - 1);
        if (counts.size === 2 && [...counts.values()].every((n) => n === 0)) released.open();
      },
    };
    const s = setup(counting);
    s.send({ auth: { access: "read-only", secret: "" } });
    s.send({ subscribe: { channel: "a" } });
    s.send({ subscribe: { channel: "b" } });
    s.session.outbox.close();
    s.session.close();
    subscribed.open();
    await released.opened;
    expect(Object.fromEntries(counts)).toEqual({ "/:a": 0, "/:b": 0 });
    expect(s.sent).toEqual(['{"ok":true}']);
  });

  it("answers a repeat of a subscribe in flight with that subscribe's outcome, in order, never an early ok", async () => {
    const subscribed = gate();
    const memory = createMemoryBus();
    let calls = 0;
    const failing: Bus = {
      ...memory,
      subscribe: () => {
        calls += 1;
        return subscribed.opened.then(() => Promise.reject(new Error("no answer")));
      },
    };
    const s = setup(failing);
    s.send({ auth: { access: "read-only", secret: "" } });
    s.send({ subscribe: { channel: "c" } });
    s.send({ subscribe: { channel: "c" } });
    await s.settle();
    expect(s.sent).toEqual(['{"ok":true}']);
    subscribed.open();
    await s.until(() => s.sent.length === 3);
    expect(s.sent).toEqual(['{"ok":true}', '{"err":"unavailable"}', '{"err":"unavailable"}']);
    expect(calls).toBe(1);
    // Failed: the next subscribe is a new one.
    s.send({ subscribe: { channel: "c" } });
    await s.until(() => s.sent.length === 4);
    expect(calls).toBe(2);
  });

  it("gives back only what a subscribe took: an unsubscribe while it fails, then a new subscribe", async () => {
    const counts = new Map<string, number>();
    const first = gate();
    const memory = createMemoryBus();
    let calls = 0;
    const counting: Bus = {
      ...memory,
      subscribe: async (t) => {
        calls += 1;
        if (calls === 1) {
          await first.opened;
          throw new Error("no answer");
        }
        counts.set(t, (counts.get(t) ?? 0) + 1);
      },
      unsubscribe: async (t) => {
        counts.set(t, (counts.get(t) ?? 0) - 1);
      },
    };
    const s = setup(counting);
    s.send({ auth: { access: "read-only", secret: "" } });
    s.send({ subscribe: { channel: "c" } });
    s.send({ unsubscribe: { channel: "c" } });
    s.send({ subscribe: { channel: "c" } });
    first.open();
    await s.until(() => s.sent.length === 4);
    expect(s.sent).toEqual(['{"ok":true}', '{"err":"unavailable"}', '{"ok":true}', '{"ok":true}']);
    // The failed subscribe took nothing and gave nothing back; the second holds one reference.
    expect(Object.fromEntries(counts)).toEqual({ "/:c": 1 });
    expect(s.topics).toEqual(new Set(["/:c"]));
  });

  it("closes with 1000 after replying ok to disconnect, and ignores later frames", async () => {
    const s = setup();
    s.send({ disconnect: true });
    s.send({ auth: { access: "read-only", secret: "" } });
    await s.until(() => s.ended.length === 1);
    await s.settle();
    expect(s.sent).toEqual(['{"ok":true}']);
    expect(s.ended).toEqual([1000]);
  });

  it("answers access_denied before checking the channel name, as webrocket does", async () => {
    const s = setup();
    s.send({ subscribe: { channel: "" } });
    s.send({ auth: { access: "read-only", secret: "" } });
    s.send({ publish: { event: "e", channel: "c", data: 1 } });
    s.send({ subscribe: { channel: "" } });
    await s.until(() => s.sent.length === 4);
    expect(s.sent).toEqual([
      '{"err":"access_denied"}',
      '{"ok":true}',
      '{"err":"access_denied"}',
      '{"err":"invalid_channel_name"}',
    ]);
  });
});
