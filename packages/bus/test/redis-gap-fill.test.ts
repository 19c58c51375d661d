import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { StreamPosition } from "../src/index.js";
import { type Envelope, readEnvelope } from "../src/redis-envelope.js";
import { createTrack, GapFiller, type HistoryTrack, trackPosition } from "../src/redis-gap-fill.js";
import type { StoredRange } from "../src/redis-scripts.js";

/** An envelope as the publish script writes it (redis-scripts.ts). */
function payload(offset: number, epoch: string, text: string): Buffer {
  const head = Buffer.alloc(9 + 9);
  head.writeDoubleLE(1000, 0);
  head[8] = 1;
  head.writeDoubleLE(offset, 9);
  head[17] = epoch.length;
  return Buffer.concat([head, Buffer.from(epoch, "latin1"), Buffer.from(text)]);
}

const envelope = (offset: number, epoch = "E", text = `m${offset}`): Envelope => {
  const read = readEnvelope(payload(offset, epoch, text));
  if (read === undefined) throw new Error("bad envelope");
  return read;
};

/** A read the test answers by hand. */
interface PendingRead {
  readonly after: number;
  readonly count: number;
  resolve(range: StoredRange): void;
  reject(err: Error): void;
}

function setup(start: StreamPosition | undefined = { offset: 0, epoch: "E" }) {
  let stored: StreamPosition | undefined = start;
  const delivered: string[] = [];
  const lost: string[] = [];
  const reads: PendingRead[] = [];
  const filler = new GapFiller({
    read: (_keys, after, count) =>
      new Promise<StoredRange>((resolve, reject) => {
        reads.push({ after, count, resolve, reject });
      }),
    position: async () => stored,
    deliver: (_topic, e) => delivered.push(`${e.position?.offset ?? "-"}:${e.frame.toString()}`),
    lost: (topic) => lost.push(topic),
    active: () => true,
    observer: undefined,
    logger: undefined,
  });
  const track: HistoryTrack = createTrack("/:t", { meta: "m", stream: "s", channel: "c" }, { size: 10, ttlMs: 60_000 }, start);
  /** The stream holds messages `from`..`to` of `epoch` (offset `to`). */
  const range = (from: number, to: number, epoch: string | undefined = "E"): StoredRange => ({
    epoch,
    offset: to,
    first: from,
    entries: Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => ({
      offset: from + i,
      payload: payload(from + i, epoch ?? "", `m${from + i}`),
    })),
  });
  const store = (p: StreamPosition | undefined) => {
    stored = p;
  };
  return { filler, track, delivered, lost, reads, range, store };
}

/** Lets promise callbacks run. */
const settle = () => new Promise((r) => setImmediate(r));

describe("GapFiller", () => {
  it("delivers messages that follow, drops those already delivered", () => {
    const { filler, track, delivered, reads } = setup();
    for (const o of [1, 2, 2, 1, 3]) filler.offer(track, envelope(o));
    expect(delivered).toEqual(["1:m1", "2:m2", "3:m3"]);
    expect(reads).toEqual([]);
    expect(trackPosition(track)).toEqual({ offset: 3, epoch: "E" });
  });

  it("on an offset jump holds the live messages, reads the missed ones and delivers them first", async () => {
    const { filler, track, delivered, reads, range } = setup();
    filler.offer(track, envelope(1));
    filler.offer(track, envelope(4));
    filler.offer(track, envelope(5));
    expect(delivered).toEqual(["1:m1"]);
    expect(reads.map((r) => [r.after, r.count])).toEqual([[1, 10]]);
    reads[0]?.resolve(range(1, 4));
    await settle();
    expect(delivered).toEqual(["1:m1", "2:m2", "3:m3", "4:m4", "5:m5"]);
    filler.offer(track, envelope(6));
    expect(delivered.at(-1)).toBe("6:m6");
  });

  it("reports a gap it cannot fill (trimmed past it), and goes on from the stream's position", async () => {
    const { filler, track, delivered, lost, reads, range } = setup({ offset: 2, epoch: "E" });
    filler.offer(track, envelope(9));
    filler.offer(track, envelope(10));
    reads[0]?.resolve(range(6, 9));
    await settle();
    expect(lost).toEqual(["/:t"]);
    // Everything up to the stream's position counts as seen; what came after is delivered.
    expect(delivered).toEqual(["10:m10"]);
  });

  it("reports a gap when the history's epoch changed or it is gone", async () => {
    for (const gone of [
      { epoch: "F", offset: 3, first: 1, entries: [] },
      { epoch: undefined, offset: 0, first: 1, entries: [] },
    ] satisfies StoredRange[]) {
      const { filler, track, lost, reads } = setup({ offset: 5, epoch: "E" });
      filler.resume([track]);
      reads[0]?.resolve(gone);
      await settle();
      expect(lost, JSON.stringify(gone)).toEqual(["/:t"]);
      expect(track.epoch).toBe(gone.epoch);
    }
  });

  it("reports a gap when the history went back in its epoch (a replica promoted without the last messages), and takes its offsets again", async () => {
    const { filler, track, delivered, lost, reads, range } = setup({ offset: 5, epoch: "E" });
    filler.resume([track]);
    reads[0]?.resolve(range(1, 3));
    await settle();
    expect(lost).toEqual(["/:t"]);
    expect(trackPosition(track)).toEqual({ offset: 3, epoch: "E" });
    // New messages take offsets 4 and 5 again: delivered, not dropped as seen.
    filler.offer(track, envelope(4, "E", "new4"));
    filler.offer(track, envelope(5, "E", "new5"));
    expect(delivered).toEqual(["4:new4", "5:new5"]);
  });

  it("takes a new epoch starting at 1 as the continuation of an expired history", () => {
    const { filler, track, delivered, lost, reads } = setup({ offset: 7, epoch: "E" });
    filler.offer(track, envelope(1, "F"));
    filler.offer(track, envelope(2, "F"));
    expect(delivered).toEqual(["1:m1", "2:m2"]);
    expect(lost).toEqual([]);
    expect(reads).toEqual([]);
  });

  it("starts counting at the first history it sees when the topic had none", async () => {
    const { filler, track, delivered, reads, range } = setup(undefined);
    filler.offer(track, envelope(3, "F"));
    expect(reads.map((r) => r.after)).toEqual([0]);
    reads[0]?.resolve(range(1, 3, "F"));
    await settle();
    expect(delivered).toEqual(["1:m1", "2:m2", "3:m3"]);
  });

  it("after a reconnect reads from where it stands; a read under way is followed by another", async () => {
    const { filler, track, delivered, reads, range } = setup();
    filler.offer(track, envelope(1));
    filler.resume([track]);
    filler.resume([track]);
    expect(reads.map((r) => r.after)).toEqual([1]);
    reads[0]?.resolve(range(2, 2));
    await settle();
    expect(reads.map((r) => r.after)).toEqual([1, 2]);
    reads[1]?.resolve(range(3, 3));
    await settle();
    expect(delivered).toEqual(["1:m1", "2:m2", "3:m3"]);
  });

  it("delivers a message without a position at once, even while filling", () => {
    const { filler, track, delivered } = setup();
    filler.offer(track, envelope(2));
    const bare = readEnvelope(Buffer.concat([Buffer.alloc(8), Buffer.from([0]), Buffer.from("presence")]));
    if (bare === undefined) throw new Error("bad envelope");
    filler.offer(track, bare);
    expect(delivered).toEqual(["-:presence"]);
  });

  it("checks quiet topics only, and reads those whose position moved on", async () => {
    const { filler, track, delivered, reads, range, store } = setup();
    filler.offer(track, envelope(1));
    store({ offset: 1, epoch: "E" });
    filler.checkQuiet([track], 60_000);
    filler.checkQuiet([track], 0);
    await settle();
    expect(reads).toEqual([]);
    store({ offset: 2, epoch: "E" });
    filler.checkQuiet([track], 0);
    await settle();
    expect(reads.map((r) => r.after)).toEqual([1]);
    reads[0]?.resolve(range(2, 2));
    await settle();
    expect(delivered).toEqual(["1:m1", "2:m2"]);
    store(undefined);
    filler.checkQuiet([track], 0);
    await settle();
    expect(reads).toHaveLength(2);
  });

  it("delivers nothing more for a topic the node dropped", async () => {
    const { filler, track, delivered, reads, range } = setup();
    filler.offer(track, envelope(3));
    track.released = true;
    reads[0]?.resolve(range(1, 3));
    await settle();
    filler.offer(track, envelope(4));
    expect(delivered).toEqual([]);
  });

  describe("when a read fails", () => {
    beforeEach(() => {
      vi.useFakeTimers();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it("tries again with backoff, holding live messages meanwhile", async () => {
      const { filler, track, delivered, reads, range } = setup();
      filler.offer(track, envelope(2));
      reads[0]?.reject(new Error("timeout"));
      await vi.advanceTimersByTimeAsync(49);
      expect(reads).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(reads).toHaveLength(2);
      filler.offer(track, envelope(3));
      reads[1]?.resolve(range(1, 2));
      await vi.advanceTimersByTimeAsync(0);
      expect(delivered).toEqual(["1:m1", "2:m2", "3:m3"]);
    });
  });
});
