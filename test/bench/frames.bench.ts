import { encodeCommand, encodeDelivery, okReply, parseServerFrame } from "@rocket/protocol";
import { bench, describe } from "vitest";
import {
  allocMaskedFrame,
  FrameKind,
  frameKind,
  maskInPlace,
  PublishEncoder,
  readStamp,
  type Stamp,
} from "../../apps/bench/src/frames.js";

/**
 * Why rocket-bench keeps its own publish writer and delivery reader instead of the
 * protocol package's encodeCommand and parseServerFrame: the load side shares the machine
 * with the server, and every microsecond it spends per message is one the server does not
 * get. Run: npx vitest bench --run test/bench/frames.bench.ts
 */
const event = "bench";
const channel = "ch-1234";
const pad = "x".repeat(64);
const mask = 0x5a5a5a5a;
const t0 = 1_700_000_000_000;
let sink = 0;

describe("a masked publish frame, 100-byte data", () => {
  const encoder = new PublishEncoder(event, channel, 100);
  let seq = 0;
  bench("PublishEncoder: digits written into the frame", () => {
    seq++;
    sink += encoder.frame(seq, t0 + seq, mask).length;
  });
  bench("encodeCommand, Buffer.from, then framed and masked", () => {
    seq++;
    const text = encodeCommand({ type: "publish", event, channel, dataJson: `{"p":"${pad}","s":${seq},"t":${t0 + seq}}` });
    const payload = Buffer.from(text);
    const frame = allocMaskedFrame(0x1, payload.length, mask);
    const header = frame.length - payload.length - 4;
    payload.copy(frame, header + 4);
    maskInPlace(frame, header + 4, frame.length, header);
    sink += frame.length;
  });
});

describe("a delivery's stamp, read from the socket's buffer", () => {
  const text = encodeDelivery(event, channel, `{"p":"${pad}","s":123456,"t":${t0}}`);
  const buf = Buffer.concat([Buffer.alloc(16), Buffer.from(text), Buffer.alloc(16)]);
  const start = 16;
  const end = start + Buffer.byteLength(text);
  const stamp: Stamp = { seq: 0, sentAtUs: 0 };
  bench("frameKind + readStamp, in place", () => {
    if (frameKind(buf, start, end) === FrameKind.Delivery && readStamp(buf, start, end, stamp)) sink += stamp.seq;
  });
  bench("parseServerFrame of the decoded text", () => {
    const frame = parseServerFrame(buf.toString("utf8", start, end));
    if (frame?.type === "delivery") sink += (frame.delivery.data as { s: number }).s;
  });
});

describe("a publish's ok reply", () => {
  const buf = Buffer.from(okReply);
  bench("frameKind", () => {
    sink += frameKind(buf, 0, buf.length);
  });
  bench("parseServerFrame of the decoded text", () => {
    sink += parseServerFrame(buf.toString("utf8", 0, buf.length))?.type === "reply" ? 1 : 0;
  });
});

export { sink };
