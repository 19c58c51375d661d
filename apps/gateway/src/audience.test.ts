import { type ClusterAudience, createMemoryBus, createMemoryDirectory } from "@rocket/bus";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createAudience } from "./audience.js";
import { createHub } from "./hub.js";
import { createMetrics } from "./metrics.js";
import type { Outbox } from "./outbox.js";
import { createSurvey } from "./survey.js";

/** A cluster audience that records what the node tells it. */
function recorder() {
  const calls: string[] = [];
  const cluster: ClusterAudience = {
    onDescribe() {},
    setUser: (topic, user, count) => calls.push(`user ${topic} ${user} ${count}`),
    setOccupied: (topic, occupied) => calls.push(`occupied ${topic} ${occupied}`),
    users: async () => [{ user: '"alice"', connections: 2 }],
    settled: async () => {},
    close: async () => {},
  };
  return { cluster, calls };
}

const hub = createHub(
  {
    path: "/",
    secrets: { readOnly: "", readWrite: "rw" },
    logFile: "",
    allowedOrigins: undefined,
    compression: false,
    history: { history: { size: 10, ttlMs: 1000 }, prefixes: [{ prefix: "room:", history: undefined }] },
    presence: { presence: false, prefixes: [{ prefix: "room:", presence: true }] },
  },
  createMetrics({ version: "test", redis: false }),
  pino({ level: "silent" }),
);

/** An outbox as the audience uses it: closable, with what it was closed with. */
const outbox = () => {
  const ended: number[] = [];
  return { ended, box: { endNow: (code: number) => ended.push(code) } as unknown as Outbox };
};

describe("audience", () => {
  it("counts subscriptions per channel and identified users on channels with Presence", () => {
    const { cluster, calls } = recorder();
    const view = createAudience([hub], cluster).forHub("/");
    if (view === undefined) throw new Error("no hub");
    const [a, b, anon] = [outbox(), outbox(), outbox()];
    view.identify(a.box, "alice");
    view.identify(b.box, "alice");
    view.join(a.box, "room:1");
    view.join(b.box, "room:1");
    view.join(anon.box, "room:1");
    view.join(a.box, "plain");
    expect(view.localChannels("")).toEqual([
      ["room:1", 3],
      ["plain", 1],
    ]);
    expect(view.localChannels("ro")).toEqual([["room:1", 3]]);
    // The connection closed before its subscriptions were given back: they still leave as its user's.
    view.closed(a.box);
    view.leave(a.box, "room:1");
    view.leave(a.box, "plain");
    view.leave(anon.box, "room:1");
    view.leave(b.box, "room:1");
    expect(calls).toEqual([
      "occupied /:room:1 true",
      'user /:room:1 "alice" 1',
      'user /:room:1 "alice" 2',
      "occupied /:plain true",
      'user /:room:1 "alice" 1',
      "occupied /:plain false",
      // The last user leaves before the channel is vacated.
      'user /:room:1 "alice" 0',
      "occupied /:room:1 false",
    ]);
    expect(view.localChannels("")).toEqual([]);
  });

  it("closes a user's open connections with 4503, and describes frames per channel", async () => {
    const { cluster } = recorder();
    const audience = createAudience([hub], cluster);
    const view = audience.forHub("/");
    if (view === undefined) throw new Error("no hub");
    const [a, b, c] = [outbox(), outbox(), outbox()];
    view.identify(a.box, "alice");
    view.identify(b.box, "alice");
    view.identify(c.box, "bob");
    view.closed(b.box);
    expect(view.disconnect("alice")).toBe(1);
    expect(a.ended).toEqual([4503]);
    expect(b.ended).toEqual([]);
    expect(view.disconnect("nobody")).toBe(0);
    expect(await view.users("room:1")).toEqual([{ user: "alice", connections: 2 }]);
    expect(await view.users("plain")).toEqual([]);
    expect(audience.describe("/:room:1")).toEqual({
      history: false,
      frames: {
        join: '{"event":"__join","channel":"room:1","data":{"user":',
        leave: '{"event":"__leave","channel":"room:1","data":{"user":',
        tail: "}}",
      },
    });
    expect(audience.describe("/:plain")).toEqual({ history: true, frames: undefined });
    expect(audience.describe("~survey")).toEqual({ history: false, frames: undefined });
  });
});

describe("survey on the in-process bus", () => {
  it("asks the one node and gets its answer", async () => {
    const bus = createMemoryBus();
    const survey = createSurvey({
      bus,
      directory: createMemoryDirectory("only"),
      timeoutMs: 1000,
      answer: (q) =>
        q.op === "channels" ? { op: "channels", channels: [[`${q.prefix}x`, 2]] } : { op: "disconnect", closed: 0 },
      logger: pino({ level: "silent" }),
    });
    bus.onDeliver((topic, frame) => survey.receive(topic, frame));
    survey.start();
    expect(await survey.ask({ op: "channels", hub: "/", prefix: "p:" })).toEqual([{ op: "channels", channels: [["p:x", 2]] }]);
    survey.stop();
    await bus.close();
  });
});
