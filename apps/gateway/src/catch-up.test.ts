import type { HistoryPage, StreamPosition } from "@rocket/bus";
import { CloseCode } from "@rocket/protocol";
import { describe, expect, it } from "vitest";
import { noCounters, recordingSocket } from "../../../test/harness/recording-socket.js";
import { Outbox } from "./outbox.js";
import { createRecovery } from "./recovery.js";
import { ok } from "./replies.js";
import { WriteBatch } from "./write-batch.js";

const endOfTurn = () => new Promise((resolve) => setImmediate(resolve));
const frame = (offset: number, epoch = "E") => Buffer.from(`m${offset}${epoch === "E" ? "" : epoch}`);
const at = (offset: number, epoch = "E"): StreamPosition => ({ offset, epoch });
const page = (position: StreamPosition, from: number, complete = true): HistoryPage => ({
  position,
  complete,
  entries: complete
    ? Array.from({ length: position.offset - from + 1 }, (_, i) => ({ offset: from + i, frame: frame(from + i) }))
    : [],
});

function setup() {
  const { log, socket } = recordingSocket();
  let live: StreamPosition | undefined = at(0);
  const recovery = createRecovery({ deliveredPosition: () => live });
  const outbox = new Outbox(socket, { counters: noCounters, batch: new WriteBatch() });
  /** A live message as fan-out hands it on (the node's count moves first, as the bus's does). */
  const deliver = (offset: number, epoch = "E") => {
    live = at(offset, epoch);
    recovery.deliver("/:t", frame(offset, epoch), at(offset, epoch));
  };
  /** A subscribe with since, as session and subscriber do: the reply's place is reserved first. */
  const subscribe = () => {
    const ticket = outbox.reserve();
    let answer: (p: HistoryPage) => void = () => {};
    const read = new Promise<HistoryPage>((resolve) => {
      answer = resolve;
    });
    const done = recovery.catchUp(outbox, "/:t", () => read).then(() => outbox.fill(ticket, ok));
    return { answer, done };
  };
  return {
    log,
    outbox,
    recovery,
    deliver,
    subscribe,
    setLive: (p: StreamPosition | undefined) => {
      live = p;
    },
  };
}

describe("catch-up of a subscribe with since", () => {
  it("sends the reply, the history, then what arrived meanwhile, and joins the topic once caught up", async () => {
    const { log, deliver, subscribe } = setup();
    deliver(1);
    deliver(2);
    const { answer, done } = subscribe();
    deliver(3);
    deliver(4);
    // The read ran between 3 and 4 arriving here: it holds up to 3.
    answer(page(at(3), 2));
    await done;
    deliver(5);
    await endOfTurn();
    expect(log).toEqual(['{"ok":true}', "m2", "m3", "m4", "m5", "join /:t"]);
  });

  it("waits for the node's own count to reach the end of what it read before joining", async () => {
    const { log, deliver, subscribe, setLive } = setup();
    const { answer, done } = subscribe();
    // Redis answered the read (up to 4) before the node received 3 and 4 live.
    setLive(at(2));
    answer(page(at(4), 1));
    await done;
    await endOfTurn();
    expect(log).toEqual(['{"ok":true}', "m1", "m2", "m3", "m4"]);
    deliver(3);
    deliver(4);
    await endOfTurn();
    expect(log.slice(5)).toEqual(["join /:t"]);
    deliver(5);
    await endOfTurn();
    // From now on uWS's fan-out delivers it: nothing more through the outbox.
    expect(log.slice(5)).toEqual(["join /:t"]);
  });

  it("starts from the channel's position when nothing can be recovered", async () => {
    const { log, deliver, subscribe } = setup();
    const { answer, done } = subscribe();
    deliver(8);
    answer(page(at(7), 0, false));
    await done;
    await endOfTurn();
    expect(log).toEqual(['{"ok":true}', "m8", "join /:t"]);
  });

  it("keeps replies asked for before it in front of everything it sends", async () => {
    const { log, outbox, deliver, subscribe } = setup();
    const earlier = outbox.reserve();
    const { answer, done } = subscribe();
    answer(page(at(1), 1));
    await done;
    deliver(2);
    await endOfTurn();
    expect(log).toEqual([]);
    outbox.fill(earlier, ok);
    await endOfTurn();
    expect(log).toEqual(['{"ok":true}', '{"ok":true}', "m1", "m2", "join /:t"]);
  });

  it("closes the connection with 4010 when live messages do not continue what it sent", async () => {
    const { log, deliver, subscribe } = setup();
    const { answer, done } = subscribe();
    answer(page(at(2), 1));
    await done;
    deliver(5);
    await endOfTurn();
    expect(log.at(-1)).toBe(`end ${CloseCode.HistoryLost}`);
    expect(log).not.toContain("join /:t");
  });

  it("takes a new epoch starting at 1 as a continuation", async () => {
    const { log, deliver, subscribe } = setup();
    const { answer, done } = subscribe();
    answer(page(at(2), 3));
    await done;
    deliver(1, "F");
    await endOfTurn();
    expect(log).toEqual(['{"ok":true}', "m1F", "join /:t"]);
  });

  it("stops when the connection leaves the topic", async () => {
    const { log, recovery, outbox, deliver, subscribe } = setup();
    const { answer, done } = subscribe();
    recovery.leave(outbox, "/:t");
    answer(page(at(1), 1));
    await done;
    deliver(2);
    await endOfTurn();
    expect(log).toEqual(['{"ok":true}']);
  });
});

describe("a gap the node cannot fill", () => {
  it("closes every connection on the topic with 4010, those catching up too", async () => {
    const a = setup();
    const joined = new Outbox(recordingSocket().socket, { counters: noCounters, batch: new WriteBatch() });
    const closed: number[] = [];
    const joinedSocket = recordingSocket();
    const other = new Outbox(
      {
        ...joinedSocket.socket,
        end: (code) => closed.push(code),
      },
      { counters: noCounters, batch: new WriteBatch() },
    );
    a.recovery.join(other, "/:t");
    a.recovery.join(joined, "/:other");
    a.subscribe();
    a.recovery.lost("/:t");
    expect(closed).toEqual([CloseCode.HistoryLost]);
    expect(a.log).toEqual([`leave /:t`, `end ${CloseCode.HistoryLost}`]);
    expect(a.recovery.closedForGaps).toBe(2);
  });
});
