import { describe, expect, it } from "vitest";
import { FrameKind, frameKind, maskInPlace, PublishEncoder, readStamp, type Stamp } from "./frames.js";

/** Unmasks a client frame built by PublishEncoder and returns its payload text. */
function unmask(frame: Buffer): string {
  const len7 = frame.readUInt8(1) & 0x7f;
  const header = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
  const copy = Buffer.from(frame);
  maskInPlace(copy, header + 4, copy.length, header);
  return copy.subarray(header + 4).toString();
}

const stamp = (): Stamp => ({ seq: 0, sentAtUs: 0 });

describe("publish frames", () => {
  it("encodes a masked text frame carrying a protocol publish with the stamp", () => {
    const encoder = new PublishEncoder("bench", "room-1", 100);
    const frame = encoder.frame(42, 123456789012, 0x11223344);
    expect(frame[0]).toBe(0x81);
    expect(frame.readUInt8(1) & 0x80).toBe(0x80);
    const publish = JSON.parse(unmask(frame));
    expect(publish.publish.event).toBe("bench");
    expect(publish.publish.channel).toBe("room-1");
    expect(publish.publish.data.s).toBe(42);
    expect(publish.publish.data.t).toBe(123456789012);
    expect(JSON.stringify(publish.publish.data).length).toBeGreaterThanOrEqual(95);
    expect(JSON.stringify(publish.publish.data).length).toBeLessThanOrEqual(110);
  });

  it("uses the 16-bit length form for larger payloads", () => {
    const frame = new PublishEncoder("e", "c", 2000).frame(1, 2, 3);
    expect(frame.readUInt8(1) & 0x7f).toBe(126);
    expect(frame.readUInt16BE(2)).toBe(frame.length - 8);
    expect(JSON.parse(unmask(frame)).publish.data.s).toBe(1);
  });

  it("escapes channel names as JSON", () => {
    const frame = new PublishEncoder("e", 'a"b\\c', 10).frame(7, 8, 9);
    expect(JSON.parse(unmask(frame)).publish.channel).toBe('a"b\\c');
  });
});

describe("reading what arrives", () => {
  const bytes = (s: string) => Buffer.from(s);

  it("tells replies from deliveries by their first bytes", () => {
    const kind = (s: string) => frameKind(bytes(s), 0, s.length);
    expect(kind('{"ok":true}')).toBe(FrameKind.Ok);
    expect(kind('{"err":"access_denied"}')).toBe(FrameKind.Err);
    expect(kind('{"event":"e","channel":"c","data":1}')).toBe(FrameKind.Delivery);
    expect(kind("[]")).toBe(FrameKind.Other);
  });

  it("reads the stamp backwards from a delivery as Rocket forwards it", () => {
    const text = '{"event":"bench","channel":"c","data":{"p":"xxxx","s":1234,"t":987654321}}';
    const buf = Buffer.concat([bytes("junk"), bytes(text), bytes("more")]);
    const out = stamp();
    expect(readStamp(buf, 4, 4 + text.length, out)).toBe(true);
    expect(out).toEqual({ seq: 1234, sentAtUs: 987654321 });
  });

  it("reads the stamp without parsing from a delivery on a channel with history", () => {
    const text = '{"event":"bench","channel":"c","data":{"p":"xx","s":77,"t":4242},"offset":123456,"epoch":"Ab_9-xYz"}';
    const out = stamp();
    expect(readStamp(bytes(text), 0, text.length, out)).toBe(true);
    expect(out).toEqual({ seq: 77, sentAtUs: 4242 });
    // Read in place: a frame that parsing would refuse (no event) still gives its stamp.
    const bare = '{"data":{"s":5,"t":6},"offset":1,"epoch":"e"}';
    expect(readStamp(bytes(bare), 0, bare.length, out)).toBe(true);
    expect(out).toEqual({ seq: 5, sentAtUs: 6 });
  });

  it("falls back to parsing when a server reorders or reformats data", () => {
    const text = '{"channel":"c","data":{"t":55,"s":7,"p":"x"},"event":"bench"}';
    const out = stamp();
    expect(readStamp(bytes(text), 0, text.length, out)).toBe(true);
    expect(out).toEqual({ seq: 7, sentAtUs: 55 });
  });

  it("reports a delivery without a stamp", () => {
    const text = '{"event":"e","channel":"c","data":{"hello":1}}';
    expect(readStamp(bytes(text), 0, text.length, stamp())).toBe(false);
    expect(readStamp(bytes("not json}}"), 0, 10, stamp())).toBe(false);
  });

  it("round-trips what the encoder writes through a delivery", () => {
    const frame = new PublishEncoder("bench", "c", 100).frame(99, 1_700_000_000_000, 0x5a5a5a5a);
    const { publish } = JSON.parse(unmask(frame));
    const delivery = JSON.stringify({ event: publish.event, channel: publish.channel, data: publish.data });
    const out = stamp();
    expect(readStamp(bytes(delivery), 0, delivery.length, out)).toBe(true);
    expect(out).toEqual({ seq: 99, sentAtUs: 1_700_000_000_000 });
  });
});
