import { describe, expect, it } from "vitest";
import { Outbox, type OutboxSocket } from "./outbox.js";
import { failure, ok } from "./replies.js";
import { WriteBatch } from "./write-batch.js";

/** A socket that records what reaches it, with each write marked corked or not. */
function recordingSocket() {
  const log: string[] = [];
  let corked = false;
  const socket: OutboxSocket = {
    send: (message) => {
      const text = typeof message === "string" ? message : Buffer.from(message).toString();
      log.push(corked ? `corked ${text}` : text);
    },
    cork: (write) => {
      corked = true;
      write();
      corked = false;
      log.push("uncork");
    },
    end: (code) => log.push(`end ${code}`),
    subscribe: (topic) => log.push(`subscribe ${topic}`),
    unsubscribe: (topic) => log.push(`unsubscribe ${topic}`),
  };
  return { log, socket };
}

function setup() {
  const { log, socket } = recordingSocket();
  const codes: string[] = [];
  const counters = {
    reply: (code: string) => codes.push(code),
    bytesSent: { inc: () => {} },
    messagesDelivered: { inc: () => {} },
  };
  const outbox = new Outbox(socket, { counters, batch: new WriteBatch() });
  const endOfTurn = () => new Promise((resolve) => setImmediate(resolve));
  return { outbox, log, codes, endOfTurn };
}

const unavailable = failure("unavailable");

describe("Outbox", () => {
  it("writes at once inside the message handler, where uWS has corked the socket", () => {
    const { outbox, log, codes } = setup();
    outbox.enterHandler();
    outbox.push(ok);
    outbox.push(unavailable);
    outbox.exitHandler();
    expect(log).toEqual(['{"ok":true}', '{"err":"unavailable"}']);
    expect(codes).toEqual(["ok", "unavailable"]);
  });

  it("keeps request order: a reply waits for the places reserved before it", async () => {
    const { outbox, log, endOfTurn } = setup();
    outbox.enterHandler();
    const first = outbox.reserve();
    outbox.push(unavailable);
    const third = outbox.reserve();
    outbox.exitHandler();
    outbox.fill(third, ok);
    await endOfTurn();
    expect(log).toEqual([]);
    outbox.fill(first, ok);
    await endOfTurn();
    expect(log).toEqual(['corked {"ok":true}', 'corked {"err":"unavailable"}', 'corked {"ok":true}', "uncork"]);
  });

  it("gathers replies completed outside the handler and writes them under one cork at the end of the turn", async () => {
    const { outbox, log, endOfTurn } = setup();
    outbox.enterHandler();
    const tickets = [outbox.reserve(), outbox.reserve(), outbox.reserve()];
    outbox.exitHandler();
    for (const ticket of tickets) outbox.fill(ticket, ok);
    expect(log).toEqual([]);
    await endOfTurn();
    expect(log).toEqual(['corked {"ok":true}', 'corked {"ok":true}', 'corked {"ok":true}', "uncork"]);
  });

  it("writes waiting replies before a newer one from the next message", () => {
    const { outbox, log } = setup();
    outbox.enterHandler();
    const ticket = outbox.reserve();
    outbox.exitHandler();
    outbox.fill(ticket, unavailable);
    outbox.enterHandler();
    outbox.push(ok);
    outbox.exitHandler();
    expect(log).toEqual(['{"err":"unavailable"}', '{"ok":true}']);
  });

  it("ends after every reply requested before, and not before", async () => {
    const { outbox, log, endOfTurn } = setup();
    outbox.enterHandler();
    const ticket = outbox.reserve();
    outbox.push(ok);
    outbox.endAfterReplies(1000, "disconnect");
    outbox.exitHandler();
    await endOfTurn();
    expect(log).toEqual([]);
    outbox.fill(ticket, ok);
    await endOfTurn();
    expect(log).toEqual(['corked {"ok":true}', 'corked {"ok":true}', "uncork", "end 1000"]);
  });

  it("touches a closed socket no more: no replies, no topics, no end", async () => {
    const { outbox, log, endOfTurn } = setup();
    outbox.enterHandler();
    const ticket = outbox.reserve();
    outbox.exitHandler();
    outbox.subscribe("/:before");
    outbox.close();
    outbox.fill(ticket, ok);
    outbox.push(ok);
    outbox.subscribe("/:after");
    outbox.unsubscribe("/:before");
    outbox.endAfterReplies(1000, "disconnect");
    await endOfTurn();
    expect(outbox.closed).toBe(true);
    expect(log).toEqual(["subscribe /:before"]);
  });
});
