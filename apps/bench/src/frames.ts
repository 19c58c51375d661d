import { encodeCommand, JsonByte, parseServerFrame } from "@rocket/protocol";

/**
 * The load side's fast paths through Rocket's JSON frames: publishes written straight into
 * masked WebSocket frames (the envelope comes from the protocol package's `encodeCommand`
 * once per channel; only the stamp's digits are written per message), and the cheap
 * reading of what arrives (replies told from deliveries by their first bytes, the
 * publisher's sequence number and timestamp read from the end of a delivery). Everything
 * else a client sends (auth, subscribe) is encoded by `encodeCommand` as it is.
 *
 * Worth it because the load side shares the machine with the server: each microsecond it
 * spends per message is one the server does not get. test/bench/frames.bench.ts, two runs
 * on the 2-vCPU benchmark machine, Node 20, µs per message:
 * - a masked 100-byte publish: 0.64–0.74 here, 1.30–1.45 through encodeCommand,
 *   Buffer.from and masking;
 * - a delivery's stamp: 0.12–0.16 here, 1.0–1.75 through parseServerFrame of the decoded text;
 * - a publish's ok reply: 0.07–0.09 here, 0.53–0.63 through parseServerFrame.
 * A fan-out receives over a million deliveries a second on two load threads: parsing them
 * would cost the load side more than a core.
 */

const { OpenBrace: OPEN_BRACE, CloseBrace: CLOSE_BRACE, Quote: QUOTE, Colon: COLON, Comma: COMMA } = JsonByte;
const LETTER_O = 0x6f;
const LETTER_E = 0x65;
const LETTER_S = 0x73;
const LETTER_T = 0x74;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** What a received text frame is. */
export const FrameKind = { Ok: 0, Err: 1, Delivery: 2, Other: 3 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Tells `{"ok":…}` and `{"err":…}` replies from deliveries (`{"event":…}`) by their first bytes. */
export function frameKind(buf: Uint8Array, start: number, end: number): FrameKind {
  if (end - start < 4 || buf[start] !== OPEN_BRACE || buf[start + 1] !== QUOTE) return FrameKind.Other;
  const c = buf[start + 2];
  if (c === LETTER_O && buf[start + 3] === 0x6b) return FrameKind.Ok;
  if (c === LETTER_E) return buf[start + 3] === 0x72 ? FrameKind.Err : FrameKind.Delivery;
  return FrameKind.Delivery;
}

/** A publisher's stamp read back from a delivery. */
export interface Stamp {
  seq: number;
  sentAtUs: number;
}

/**
 * Reads the publisher's stamp from a delivery whose data is `{"p":"…","s":SEQ,"t":MICROS}`.
 * The fast path reads backwards from the frame's end (`…,"s":SEQ,"t":MICROS}}`), which also
 * holds when a server re-serializes data with sorted keys (p < s < t); any other layout
 * falls back to `parseServerFrame`. Returns false when the frame carries no stamp.
 */
export function readStamp(buf: Uint8Array, start: number, end: number, out: Stamp): boolean {
  const dataClose = dataCloseOf(buf, start, end);
  if (dataClose < 0) return readStampSlow(buf, start, end, out);
  const beforeT = numberBefore(buf, dataClose - 1, start, LETTER_T, out, "sentAtUs");
  if (beforeT < 0 || buf[beforeT] !== COMMA || numberBefore(buf, beforeT - 1, start, LETTER_S, out, "seq") < 0) {
    return readStampSlow(buf, start, end, out);
  }
  return true;
}

const offsetKey = Buffer.from(',"offset":');
/** How far back from a delivery's end its position can start: `,"offset":` + 16 digits + `,"epoch":"` + a 32-byte epoch + `"}`. */
const positionMaxBytes = 80;

/**
 * Index of the brace that closes a delivery's data: the frame's second-last byte, or, on a
 * channel with history (`…,"data":D,"offset":N,"epoch":"E"}`), the byte before `,"offset":`.
 * -1 when the frame ends otherwise.
 */
function dataCloseOf(buf: Uint8Array, start: number, end: number): number {
  const last = end - 1;
  if (buf[last] !== CLOSE_BRACE) return -1;
  if (buf[last - 1] === CLOSE_BRACE) return last - 1;
  if (buf[last - 1] !== QUOTE) return -1;
  const from = Math.max(start, end - positionMaxBytes);
  for (let i = last - offsetKey.length; i >= from; i--) {
    if (buf[i] !== COMMA) continue;
    let match = true;
    for (let k = 1; k < offsetKey.length && match; k++) match = buf[i + k] === offsetKey[k];
    if (match) return buf[i - 1] === CLOSE_BRACE ? i - 1 : -1;
  }
  return -1;
}

/**
 * Reads `"K":DIGITS` backwards from its last digit at `i`, K being the one-letter key
 * `key`: stores the number in `out[field]` and returns the index just before the key's
 * opening quote, or -1 when the bytes are laid out otherwise.
 */
function numberBefore(buf: Uint8Array, i: number, start: number, key: number, out: Stamp, field: keyof Stamp): number {
  let value = 0;
  let scale = 1;
  for (; i > start; i--) {
    const c = buf[i];
    if (c === undefined || c < DIGIT_0 || c > DIGIT_9) break;
    value += (c - DIGIT_0) * scale;
    scale *= 10;
  }
  if (scale === 1 || buf[i] !== COLON || buf[i - 1] !== QUOTE || buf[i - 2] !== key || buf[i - 3] !== QUOTE) return -1;
  out[field] = value;
  return i - 4;
}

const decoder = new TextDecoder();

function readStampSlow(buf: Uint8Array, start: number, end: number, out: Stamp): boolean {
  const frame = parseServerFrame(decoder.decode(buf.subarray(start, end)));
  if (frame?.type !== "delivery") return false;
  const { data } = frame.delivery;
  if (typeof data !== "object" || data === null) return false;
  const { s, t } = data as { s?: unknown; t?: unknown };
  if (typeof s !== "number" || typeof t !== "number") return false;
  out.seq = s;
  out.sentAtUs = t;
  return true;
}

/** Number of decimal digits of a non-negative integer. */
function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

function writeDigits(buf: Buffer, at: number, n: number, count: number): void {
  for (let i = at + count - 1; i >= at; i--) {
    buf[i] = DIGIT_0 + (n % 10);
    n = Math.floor(n / 10);
  }
}

const tKey = Buffer.from(',"t":');
/** Where the stamp's digits go in the encoded publish: no JSON string holds a raw NUL. */
const digitsAt = "\u0000";

/**
 * Builds masked WebSocket frames carrying
 * `{"publish":{"event":E,"channel":C,"data":{"p":"xx…","s":SEQ,"t":MICROS}}}` for one
 * channel. The padding makes the data about `payloadBytes` long; the frame is written
 * directly into one buffer and masked in place.
 */
export class PublishEncoder {
  private readonly prefix: Buffer;
  private readonly suffix: Buffer;

  constructor(event: string, channel: string, payloadBytes: number) {
    // data is {"p":"…","s":SEQ,"t":MICROS}: 16 bytes of syntax plus ~8-digit seq and ~12-digit time
    const pad = Math.max(0, payloadBytes - 36);
    const dataJson = `{"p":"${"x".repeat(pad)}","s":${digitsAt}}`;
    const [prefix, suffix] = encodeCommand({ type: "publish", event, channel, dataJson }).split(digitsAt) as [string, string];
    this.prefix = Buffer.from(prefix);
    this.suffix = Buffer.from(suffix);
  }

  /** One masked frame for message `seq` stamped `sentAtUs`; `mask` is the 32-bit masking key. */
  frame(seq: number, sentAtUs: number, mask: number): Buffer {
    const seqDigits = digits(seq);
    const tDigits = digits(sentAtUs);
    const length = this.prefix.length + seqDigits + tKey.length + tDigits + this.suffix.length;
    const frame = allocMaskedFrame(0x1, length, mask);
    const header = frame.length - length - 4;
    let at = header + 4;
    at += this.prefix.copy(frame, at);
    writeDigits(frame, at, seq, seqDigits);
    at += seqDigits;
    at += tKey.copy(frame, at);
    writeDigits(frame, at, sentAtUs, tDigits);
    at += tDigits;
    this.suffix.copy(frame, at);
    maskInPlace(frame, header + 4, frame.length, header);
    return frame;
  }
}

/**
 * A client frame (FIN set) of `length` payload bytes with its header and masking key
 * written; the payload goes at `frame.length - length`, then gets masked.
 */
export function allocMaskedFrame(opcode: number, length: number, mask: number): Buffer {
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + 4 + length);
  frame[0] = 0x80 | opcode;
  if (header === 2) frame[1] = 0x80 | length;
  else if (header === 4) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(length, 6);
  }
  frame.writeInt32BE(mask | 0, header);
  return frame;
}

/** XORs bytes [from, to) with the 4-byte key stored at `keyAt` (RFC 6455 §5.3). */
export function maskInPlace(buf: Buffer, from: number, to: number, keyAt: number): void {
  const key = buf.readInt32BE(keyAt);
  let i = from;
  for (; i + 3 < to; i += 4) buf.writeInt32BE(buf.readInt32BE(i) ^ key, i);
  // The last 1-3 bytes: the key's first bytes, most significant first.
  for (let shift = 24; i < to; i++, shift -= 8) buf.writeUInt8(buf.readUInt8(i) ^ ((key >>> shift) & 0xff), i);
}
