import { describe, expect, it } from "vitest";
import { noCounters, recordingSocket } from "../../../test/harness/recording-socket.js";
import { Outbox } from "./outbox.js";
import { PendingJoins } from "./pending-joins.js";
import { ok } from "./replies.js";
import { WriteBatch } from "./write-batch.js";

function setup() {
  const { log, socket } = recordingSocket();
  const outbox = new Outbox(socket, { counters: noCounters, batch: new WriteBatch() });
  const endOfTurn = () => new Promise((resolve) => setImmediate(resolve));
  const frame = (n: number) => Buffer.from(`{"event":"e","channel":"c","data":${n}}`);
  return { outbox, log, endOfTurn, frame, joins: new PendingJoins() };
}

describe("PendingJoins", () => {
  it("an ok written at once: the caller joins, nothing waits", () => {
    const { outbox, log, joins } = setup();
    expect(outbox.fillNow(outbox.reserve(), ok)).toBe(true);
    expect(log).toEqual(['{"ok":true}']);
    expect(joins.size).toBe(0);
  });

  it("an ok behind a pending reply: the topic's deliveries queue behind it, then the socket joins", async () => {
    const { outbox, log, joins, endOfTurn, frame } = setup();
    const earlier = outbox.reserve();
    expect(outbox.fillNow(outbox.reserve(), ok)).toBe(false);
    joins.wait(outbox, "t");
    joins.deliver("t", frame(1));
    joins.deliver("other", frame(9));
    await endOfTurn();
    expect(log).toEqual([]);
    outbox.fill(earlier, ok);
    await endOfTurn();
    expect(log).toEqual(['{"ok":true}', '{"ok":true}', '{"event":"e","channel":"c","data":1}', "join t"]);
    // From here uWS delivers: nothing more goes through the outbox.
    expect(joins.size).toBe(0);
    joins.deliver("t", frame(2));
    await endOfTurn();
    expect(log).toHaveLength(4);
  });

  it("waits for every delivery queued meanwhile, also behind a reply requested after the subscribe", async () => {
    const { outbox, log, joins, endOfTurn, frame } = setup();
    const earlier = outbox.reserve();
    expect(outbox.fillNow(outbox.reserve(), ok)).toBe(false);
    joins.wait(outbox, "t");
    const later = outbox.reserve();
    joins.deliver("t", frame(1));
    outbox.fill(earlier, ok);
    await endOfTurn();
    expect(log).toEqual(['{"ok":true}', '{"ok":true}']);
    joins.deliver("t", frame(2));
    outbox.fill(later, ok);
    await endOfTurn();
    expect(log.slice(2)).toEqual([
      '{"ok":true}',
      '{"event":"e","channel":"c","data":1}',
      '{"event":"e","channel":"c","data":2}',
      "join t",
    ]);
  });

  it("never joins a topic left before the join", async () => {
    const { outbox, log, joins, endOfTurn, frame } = setup();
    const earlier = outbox.reserve();
    outbox.fillNow(outbox.reserve(), ok);
    joins.wait(outbox, "t");
    joins.leave(outbox, "t");
    joins.deliver("t", frame(1));
    outbox.fill(earlier, ok);
    await endOfTurn();
    expect(log).toEqual(['{"ok":true}', '{"ok":true}']);
    expect(joins.size).toBe(0);
  });
});
