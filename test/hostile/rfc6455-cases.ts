import { constants, deflateRawSync } from "node:zlib";
import { closePayload, encodeFrame, type FrameSpec, Opcode } from "../harness/raw-websocket.js";

/**
 * RFC 6455 at the socket: what the gateway does with each kind of frame, grouped as the
 * Autobahn test suite groups them. Every case states the exact outcome; where
 * uWebSockets.js departs from the RFC the case names the deviation, and docs/protocol.md
 * ("uWebSockets.js and RFC 6455") has a row for each one.
 */

/** Hub paths of the gateway the cases run against. */
export const plainHub = "/";
/** A hub with permessage-deflate (RFC 7692) enabled. */
export const deflateHub = "/z";
export const readWriteSecret = "rw-secret";
/** The gateway's MaxPayloadBytes in these cases (the default). */
export const maxPayloadBytes = 64 * 1024;
/** uWebSockets.js's own limit: the gateway sets it to 4 × MaxPayloadBytes. */
export const uwsLimitBytes = 4 * maxPayloadBytes;

/** What the server sends, in order. */
export type Expected =
  | { readonly reply: string }
  | { readonly pong: Buffer }
  /** A close frame with this status code, or `undefined`: a close frame without one. */
  | { readonly close: number | undefined; readonly reason?: string };

/**
 * How a case ends: `open` (after the frames listed, the connection answers the next
 * message), `close` (the last expected frame is a close frame, then TCP closes) or `cut`
 * (TCP closed without a close frame: 1006 to a client).
 */
export type Ending = "open" | "close" | "cut";

/**
 * The places where uWebSockets.js (and so Rocket) departs from RFC 6455 / RFC 7692. The
 * text is the first cell of the row in docs/protocol.md that documents it.
 */
export const deviations = {
  protocolErrorCut: "Protocol errors",
  invalidUtf8Cut: "Invalid UTF-8 in a text message",
  utf8NotFailFast: "Invalid UTF-8 in an unfinished fragmented message",
  oversizeCut: "A message over 4 × `MaxPayloadBytes`",
  unmaskedAccepted: "Unmasked client frames",
  dataFrameInsideFragments: "A data frame inside a fragmented message",
  closeCodeRange: "Close codes 1012–1014 and 3000–3999",
  invalidCloseNoStatus: "An invalid close frame",
  nonMinimalLength: "Non-minimal payload lengths",
  controlRsv1Deflate: "RSV1 on a control frame (compression on)",
} as const;
export type Deviation = keyof typeof deviations;

/** In a case's writes: wait for the next server frame before writing on. */
export const awaitFrame = Symbol("await a frame");

export interface RfcCase {
  readonly group: string;
  readonly name: string;
  /** The bytes to send; each element is one `write`, or a wait for the server's next frame. */
  readonly writes: readonly (Buffer | typeof awaitFrame)[];
  /** Write in pieces of this many bytes (separate writes). */
  readonly chunk?: number;
  /** Default the plain hub. */
  readonly hub?: typeof plainHub | typeof deflateHub;
  readonly expect: readonly Expected[];
  readonly ending: Ending;
  /** Where this outcome departs from the RFC. */
  readonly deviation?: Deviation;
}

const ok = '{"ok":true}';
const invalidData = '{"err":"invalid_data"}';
const reply = (text: string): Expected => ({ reply: text });
const pong = (payload: string | Buffer): Expected => ({ pong: Buffer.from(payload) });
const close = (code: number | undefined, reason = ""): Expected => ({ close: code, reason });

/** A frame; `fin` and the mask default to RFC-conforming values. */
const frame = (opcode: number, payload: string | Uint8Array = "", extra: Omit<FrameSpec, "opcode" | "payload"> = {}) =>
  encodeFrame({ opcode, payload, ...extra });
const text = (payload: string | Uint8Array, extra: Omit<FrameSpec, "opcode" | "payload"> = {}) =>
  frame(Opcode.Text, payload, extra);
const binary = (payload: string | Uint8Array, extra: Omit<FrameSpec, "opcode" | "payload"> = {}) =>
  frame(Opcode.Binary, payload, extra);
const more = (payload: string | Uint8Array, fin = true) => frame(Opcode.Continuation, payload, { fin });
const ping = (payload: string | Uint8Array = "", extra: Omit<FrameSpec, "opcode" | "payload"> = {}) =>
  frame(Opcode.Ping, payload, extra);
const closeFrame = (payload: Uint8Array = Buffer.alloc(0), extra: Omit<FrameSpec, "opcode" | "payload"> = {}) =>
  frame(Opcode.Close, payload, extra);

/** A command that needs no access and is answered `{"ok":true}`. */
const logout = '{"logout":true}';
/** Answered ok on either hub (read-only is open); `secret` carries any text. */
const authReadOnly = (secret: string) => `{"auth":{"access":"read-only","secret":${JSON.stringify(secret)}}}`;
/** `logout` padded with spaces to exactly `size` bytes: still answered ok. */
const padded = (size: number) => logout + " ".repeat(size - logout.length);
/** Splits bytes into `n`-byte pieces. */
const pieces = (bytes: Buffer, n: number): Buffer[] => {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += n) out.push(bytes.subarray(at, at + n));
  return out;
};
/** One message as a first frame plus continuation frames, one per piece. */
const fragmented = (opcode: number, parts: readonly (string | Uint8Array)[]): Buffer[] =>
  parts.map((part, i) => frame(i === 0 ? opcode : Opcode.Continuation, part, { fin: i === parts.length - 1 }));
/** RFC 7692 compression of one message: raw deflate, sync-flushed, without the 00 00 ff ff tail. */
const deflate = (payload: string | Uint8Array): Buffer => {
  const out = deflateRawSync(Buffer.from(payload), { finishFlush: constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
};
const utf8 = (text: string) => Buffer.from(text);
const bytes = (...values: number[]) => Buffer.from(values);
/** An auth frame whose secret is the given raw bytes (valid or not as UTF-8). */
const authWithSecretBytes = (secret: Buffer) =>
  Buffer.concat([utf8('{"auth":{"access":"read-only","secret":"'), secret, utf8('"}}')]);

const framing: RfcCase[] = [
  { group: "framing", name: "a text frame with a 7-bit length", writes: [text(logout)], expect: [reply(ok)], ending: "open" },
  {
    group: "framing",
    name: "a binary frame is read as the same JSON text",
    writes: [binary(logout)],
    expect: [reply(ok)],
    ending: "open",
  },
  { group: "framing", name: "an empty text frame", writes: [text("")], expect: [reply(invalidData)], ending: "open" },
  {
    group: "framing",
    name: "125 bytes (the longest 7-bit length)",
    writes: [text(padded(125))],
    expect: [reply(ok)],
    ending: "open",
  },
  { group: "framing", name: "126 bytes (16-bit length)", writes: [text(padded(126))], expect: [reply(ok)], ending: "open" },
  {
    group: "framing",
    name: "65535 bytes (the longest 16-bit length)",
    writes: [text(padded(65535))],
    expect: [reply(ok)],
    ending: "open",
  },
  { group: "framing", name: "65536 bytes (64-bit length)", writes: [text(padded(65536))], expect: [reply(ok)], ending: "open" },
  {
    group: "framing",
    name: "a short payload with a 16-bit length",
    writes: [text(logout, { lengthForm: 16 })],
    expect: [reply(ok)],
    ending: "open",
    deviation: "nonMinimalLength",
  },
  {
    group: "framing",
    name: "a short payload with a 64-bit length",
    writes: [text(logout, { lengthForm: 64 })],
    expect: [reply(ok)],
    ending: "open",
    deviation: "nonMinimalLength",
  },
  {
    group: "framing",
    name: "a 64-bit length with the most significant bit set",
    writes: [text("x", { lengthForm: 64, declaredLength: 1n << 63n })],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "framing",
    name: "a frame written one byte at a time",
    writes: [text(logout)],
    chunk: 1,
    expect: [reply(ok)],
    ending: "open",
  },
  {
    group: "framing",
    name: "header and payload in separate writes",
    writes: pieces(text(logout), 6),
    expect: [reply(ok)],
    ending: "open",
  },
  {
    group: "framing",
    name: "50 frames in one write are answered in order",
    writes: [Buffer.concat(Array.from({ length: 50 }, (_, i) => text(i % 2 === 0 ? logout : "nope")))],
    expect: Array.from({ length: 50 }, (_, i) => reply(i % 2 === 0 ? ok : invalidData)),
    ending: "open",
  },
  {
    group: "framing",
    name: "a masking key of zeros",
    writes: [text(logout, { mask: bytes(0, 0, 0, 0) })],
    expect: [reply(ok)],
    ending: "open",
  },
  {
    group: "framing",
    name: "an unmasked frame is read as if its first four payload bytes were the key",
    // 19 bytes announced, unmasked: uWS takes the four zero bytes as the key and the next
    // 19 bytes (the command and four spaces) as the payload.
    writes: [Buffer.concat([bytes(0x81, 19), Buffer.alloc(4), utf8(logout)]), utf8("    ")],
    expect: [reply(ok)],
    ending: "open",
    deviation: "unmaskedAccepted",
  },
];

const pings: RfcCase[] = [
  { group: "pings and pongs", name: "an empty ping", writes: [ping()], expect: [pong("")], ending: "open" },
  {
    group: "pings and pongs",
    name: "a 125-byte ping",
    writes: [ping("p".repeat(125))],
    expect: [pong("p".repeat(125))],
    ending: "open",
  },
  {
    group: "pings and pongs",
    name: "a ping with binary payload comes back byte for byte",
    writes: [ping(Buffer.from(Array.from({ length: 125 }, (_, i) => (i * 37) & 0xff)))],
    expect: [pong(Buffer.from(Array.from({ length: 125 }, (_, i) => (i * 37) & 0xff)))],
    ending: "open",
  },
  {
    group: "pings and pongs",
    name: "a 126-byte ping (control frames carry at most 125)",
    writes: [ping("p".repeat(126))],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "pings and pongs",
    name: "a fragmented ping",
    writes: [ping("a", { fin: false }), more("b")],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "pings and pongs",
    name: "an unsolicited pong is ignored",
    writes: [frame(Opcode.Pong, "u")],
    expect: [],
    ending: "open",
  },
  {
    group: "pings and pongs",
    name: "an unsolicited 125-byte pong",
    writes: [frame(Opcode.Pong, "u".repeat(125))],
    expect: [],
    ending: "open",
  },
  {
    group: "pings and pongs",
    name: "a 126-byte pong",
    writes: [frame(Opcode.Pong, "u".repeat(126))],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "pings and pongs",
    name: "a fragmented pong",
    writes: [frame(Opcode.Pong, "a", { fin: false }), more("b")],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "pings and pongs",
    name: "ten pings in one write get ten pongs in order",
    writes: [Buffer.concat(Array.from({ length: 10 }, (_, i) => ping(`p${i}`)))],
    expect: Array.from({ length: 10 }, (_, i) => pong(`p${i}`)),
    ending: "open",
  },
  {
    group: "pings and pongs",
    name: "a ping written one byte at a time",
    writes: [ping("slow")],
    chunk: 1,
    expect: [pong("slow")],
    ending: "open",
  },
  {
    group: "pings and pongs",
    name: "pings between messages keep their place in the order",
    writes: [Buffer.concat([text(logout), ping("between"), text("nope")])],
    expect: [reply(ok), pong("between"), reply(invalidData)],
    ending: "open",
  },
];

const reservedBits: RfcCase[] = [
  ...[4, 2, 1, 7].map(
    (rsv): RfcCase => ({
      group: "reserved bits",
      name: `RSV ${rsv.toString(2).padStart(3, "0")} on a text frame (no extension negotiated)`,
      writes: [text(logout, { rsv })],
      expect: [],
      ending: "cut",
      deviation: "protocolErrorCut",
    }),
  ),
  {
    group: "reserved bits",
    name: "RSV1 on a binary frame",
    writes: [binary(logout, { rsv: 4 })],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "reserved bits",
    name: "RSV2 on a ping",
    writes: [ping("x", { rsv: 2 })],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "reserved bits",
    name: "RSV3 on a continuation frame",
    writes: [text('{"log', { fin: false }), frame(Opcode.Continuation, 'out":true}', { rsv: 1 })],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "reserved bits",
    name: "RSV1 on a close frame",
    writes: [closeFrame(closePayload(1000), { rsv: 4 })],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "reserved bits",
    name: "a valid frame, then one with RSV2: the first is answered",
    writes: [text(logout), awaitFrame, text(logout, { rsv: 2 })],
    expect: [reply(ok)],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "reserved bits",
    name: "a valid frame and one with RSV2 in one read: the reply is lost with the connection",
    writes: [Buffer.concat([text(logout), text(logout, { rsv: 2 })])],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
];

const opcodes: RfcCase[] = [
  ...[3, 4, 5, 6, 7, 11, 12, 13, 14, 15].map(
    (opcode): RfcCase => ({
      group: "opcodes",
      name: `reserved ${opcode < 8 ? "data" : "control"} opcode ${opcode}`,
      writes: [frame(opcode, "x")],
      expect: [],
      ending: "cut",
      deviation: "protocolErrorCut",
    }),
  ),
  {
    group: "opcodes",
    name: "a valid message, then a reserved opcode: the first is answered",
    writes: [text(logout), awaitFrame, frame(5, "")],
    expect: [reply(ok)],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
];

const fragmentation: RfcCase[] = [
  {
    group: "fragmentation",
    name: "a text message in two fragments",
    writes: fragmented(Opcode.Text, ['{"logout"', ":true}"]),
    expect: [reply(ok)],
    ending: "open",
  },
  {
    group: "fragmentation",
    name: "a text message in one-byte fragments",
    writes: fragmented(Opcode.Text, [...logout]),
    expect: [reply(ok)],
    ending: "open",
  },
  {
    group: "fragmentation",
    name: "a binary message in fragments",
    writes: fragmented(Opcode.Binary, ['{"logo', "ut", '":true}']),
    expect: [reply(ok)],
    ending: "open",
  },
  {
    group: "fragmentation",
    name: "empty fragments at the start and the end",
    writes: fragmented(Opcode.Text, ["", "", logout, ""]),
    expect: [reply(ok)],
    ending: "open",
  },
  {
    group: "fragmentation",
    name: "a 100-fragment message in one write",
    writes: [Buffer.concat(fragmented(Opcode.Text, [logout, ...Array.from({ length: 99 }, () => " ")]))],
    expect: [reply(ok)],
    ending: "open",
  },
  {
    group: "fragmentation",
    name: "a ping between fragments is answered at once",
    writes: [text('{"logout"', { fin: false }), ping("mid"), more(":true}")],
    expect: [pong("mid"), reply(ok)],
    ending: "open",
  },
  {
    group: "fragmentation",
    name: "three pings between fragments",
    writes: [
      Buffer.concat([text("{", { fin: false }), ping("1"), more('"logout"', false), ping("2"), ping("3"), more(":true}")]),
    ],
    expect: [pong("1"), pong("2"), pong("3"), reply(ok)],
    ending: "open",
  },
  {
    group: "fragmentation",
    name: "a pong between fragments",
    writes: [text('{"logout"', { fin: false }), frame(Opcode.Pong, "mid"), more(":true}")],
    expect: [reply(ok)],
    ending: "open",
  },
  {
    group: "fragmentation",
    name: "a ping split over writes between fragments",
    writes: [text('{"logout"', { fin: false }), ...pieces(ping("split"), 3), more(":true}")],
    expect: [pong("split"), reply(ok)],
    ending: "open",
  },
  {
    group: "fragmentation",
    name: "a close between fragments ends the connection; the message is dropped",
    writes: [text('{"logout"', { fin: false }), closeFrame(closePayload(1000)), more(":true}")],
    expect: [close(1000)],
    ending: "close",
  },
  {
    group: "fragmentation",
    name: "a continuation frame with no message started",
    writes: [more(logout)],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "fragmentation",
    name: "an unfinished continuation frame with no message started",
    writes: [more(logout, false)],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "fragmentation",
    name: "a new text frame while a fragmented message is open",
    writes: [text('{"logout"', { fin: false }), text(logout)],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "fragmentation",
    name: "a binary frame inside a fragmented text message is appended to it",
    writes: [text('{"log', { fin: false }), binary('out":true}'), more(logout)],
    expect: [reply(ok), reply(ok)],
    ending: "open",
    deviation: "dataFrameInsideFragments",
  },
  {
    group: "fragmentation",
    name: "a text frame after a ping inside a fragmented message is appended to it",
    writes: [text('{"log', { fin: false }), ping("p"), text('out":true}'), more(logout)],
    expect: [pong("p"), reply(ok), reply(ok)],
    ending: "open",
    deviation: "dataFrameInsideFragments",
  },
  {
    group: "fragmentation",
    name: "fragments that are each valid JSON make one message that is not",
    writes: fragmented(Opcode.Text, [logout, logout]),
    expect: [reply(invalidData)],
    ending: "open",
  },
];

const euroSecret = authReadOnly("price: €5, clef: 𝄞, é");
const utf8Cases: RfcCase[] = [
  ...(
    [
      ["two-byte", "é"],
      ["three-byte", "€"],
      ["four-byte", "𝄞"],
      ["U+FEFF inside a string", "\ufeff"],
      ["noncharacters U+FFFE and U+FFFF", "\ufffe\uffff"],
      ["U+10FFFF", "\u{10ffff}"],
    ] as const
  ).map(
    ([what, chars]): RfcCase => ({
      group: "utf-8",
      name: `valid ${what} characters`,
      writes: [text(authReadOnly(chars))],
      expect: [reply(ok)],
      ending: "open",
    }),
  ),
  {
    group: "utf-8",
    name: "valid text split inside multi-byte characters, one byte per fragment",
    writes: fragmented(
      Opcode.Text,
      [...utf8(euroSecret)].map((b) => bytes(b)),
    ),
    expect: [reply(ok)],
    ending: "open",
  },
  {
    group: "utf-8",
    name: "a four-byte character split 1+3 across fragments",
    writes: (() => {
      const all = utf8(authReadOnly("𝄞"));
      const at = all.indexOf(0xf0) + 1;
      return fragmented(Opcode.Text, [all.subarray(0, at), all.subarray(at)]);
    })(),
    expect: [reply(ok)],
    ending: "open",
  },
  ...(
    [
      ["a lone continuation byte", bytes(0x80)],
      ["an overlong two-byte form of '/'", bytes(0xc0, 0xaf)],
      ["an overlong three-byte form", bytes(0xe0, 0x80, 0xaf)],
      ["an overlong four-byte form", bytes(0xf0, 0x80, 0x80, 0xaf)],
      ["a UTF-16 surrogate (U+D800)", bytes(0xed, 0xa0, 0x80)],
      ["a surrogate pair encoded as two characters", bytes(0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80)],
      ["a code point above U+10FFFF", bytes(0xf4, 0x90, 0x80, 0x80)],
      ["the bytes 0xFE and 0xFF", bytes(0xfe, 0xff)],
      ["a five-byte form", bytes(0xf8, 0x88, 0x80, 0x80, 0x80)],
      ["a sequence cut short before ASCII", bytes(0xe2, 0x82, 0x41)],
    ] as const
  ).map(
    ([what, secret]): RfcCase => ({
      group: "utf-8",
      name: `a text message with ${what}`,
      writes: [text(authWithSecretBytes(secret))],
      expect: [],
      ending: "cut",
      deviation: "invalidUtf8Cut",
    }),
  ),
  {
    group: "utf-8",
    name: "a text message ending in the middle of a character",
    writes: [text(Buffer.concat([utf8(logout), bytes(0xe2, 0x82)]))],
    expect: [],
    ending: "cut",
    deviation: "invalidUtf8Cut",
  },
  {
    group: "utf-8",
    name: "a fragmented message whose last fragment holds invalid UTF-8",
    writes: fragmented(Opcode.Text, ['{"auth":{"access":"read-only","secret":"', bytes(0xff), '"}}']),
    expect: [],
    ending: "cut",
    deviation: "invalidUtf8Cut",
  },
  {
    group: "utf-8",
    name: "invalid UTF-8 in a first fragment is noticed only when the message ends",
    writes: [text(bytes(0xff), { fin: false }), ping("still here"), awaitFrame, more("}")],
    expect: [pong("still here")],
    ending: "cut",
    deviation: "utf8NotFailFast",
  },
  {
    group: "utf-8",
    name: "invalid UTF-8 in a binary message is answered invalid_data",
    writes: [binary(authWithSecretBytes(bytes(0xff)))],
    expect: [reply(invalidData)],
    ending: "open",
  },
  {
    group: "utf-8",
    name: "JSON escapes of a lone surrogate are valid UTF-8 text",
    writes: [text(authReadOnly("\ud800"))],
    expect: [reply(ok)],
    ending: "open",
  },
];

const validCloseCodes = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 4000, 4999];
const closeCases: RfcCase[] = [
  {
    group: "close",
    name: "a close frame without a payload is answered without a status code",
    writes: [closeFrame()],
    expect: [close(undefined)],
    ending: "close",
  },
  ...validCloseCodes.map(
    (code): RfcCase => ({
      group: "close",
      name: `close ${code} is echoed`,
      writes: [closeFrame(closePayload(code))],
      expect: [close(code)],
      ending: "close",
    }),
  ),
  {
    group: "close",
    name: "the reason is echoed with the code",
    writes: [closeFrame(closePayload(1000, "bye, ünïcode"))],
    expect: [close(1000, "bye, ünïcode")],
    ending: "close",
  },
  {
    group: "close",
    name: "a 123-byte reason (the longest that fits)",
    writes: [closeFrame(closePayload(1000, "r".repeat(123)))],
    expect: [close(1000, "r".repeat(123))],
    ending: "close",
  },
  ...[1012, 1014, 3000, 3999].map(
    (code): RfcCase => ({
      group: "close",
      name: `registered close code ${code} is answered without a status code`,
      writes: [closeFrame(closePayload(code))],
      expect: [close(undefined)],
      ending: "close",
      deviation: "closeCodeRange",
    }),
  ),
  ...[0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535].map(
    (code): RfcCase => ({
      group: "close",
      name: `invalid close code ${code}`,
      writes: [closeFrame(closePayload(code))],
      expect: [close(undefined)],
      ending: "close",
      deviation: "invalidCloseNoStatus",
    }),
  ),
  {
    group: "close",
    name: "a one-byte close payload",
    writes: [closeFrame(bytes(0x03))],
    expect: [close(undefined)],
    ending: "close",
    deviation: "invalidCloseNoStatus",
  },
  {
    group: "close",
    name: "a close reason that is not UTF-8",
    writes: [closeFrame(closePayload(1000, bytes(0xce, 0xba, 0xe1, 0xbd)))],
    expect: [close(undefined)],
    ending: "close",
    deviation: "invalidCloseNoStatus",
  },
  {
    group: "close",
    name: "a close frame with a 124-byte reason (126-byte payload)",
    writes: [closeFrame(closePayload(1000, "r".repeat(124)))],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "close",
    name: "a fragmented close frame",
    writes: [closeFrame(closePayload(1000), { fin: false }), more("")],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "close",
    name: "a message after the close frame is not answered",
    writes: [Buffer.concat([closeFrame(closePayload(1000)), text(logout)])],
    expect: [close(1000)],
    ending: "close",
  },
  {
    group: "close",
    name: "a ping after the close frame is not answered",
    writes: [Buffer.concat([closeFrame(closePayload(1000)), ping("late")])],
    expect: [close(1000)],
    ending: "close",
  },
  {
    group: "close",
    name: "messages before the close frame are answered first",
    writes: [Buffer.concat([text(logout), ping("p"), closeFrame(closePayload(1001))])],
    expect: [reply(ok), pong("p"), close(1001)],
    ending: "close",
  },
  {
    group: "close",
    name: '{"disconnect":true} is answered, then closed with 1000',
    writes: [text('{"disconnect":true}')],
    expect: [reply(ok), close(1000, "disconnect")],
    ending: "close",
  },
];

const tooBig = (reason = "message too big") => close(1009, reason);
const limits: RfcCase[] = [
  {
    group: "limits",
    name: "a message of exactly MaxPayloadBytes",
    writes: [text(padded(maxPayloadBytes))],
    expect: [reply(ok)],
    ending: "open",
  },
  {
    group: "limits",
    name: "a text message one byte over MaxPayloadBytes",
    writes: [text(padded(maxPayloadBytes + 1))],
    expect: [tooBig()],
    ending: "close",
  },
  {
    group: "limits",
    name: "a binary message one byte over MaxPayloadBytes",
    writes: [binary(padded(maxPayloadBytes + 1))],
    expect: [tooBig()],
    ending: "close",
  },
  {
    group: "limits",
    name: "a message of exactly 4 × MaxPayloadBytes",
    writes: [text(padded(uwsLimitBytes))],
    expect: [tooBig()],
    ending: "close",
  },
  {
    group: "limits",
    name: "a message one byte over 4 × MaxPayloadBytes",
    writes: [text(padded(uwsLimitBytes + 1))],
    expect: [],
    ending: "cut",
    deviation: "oversizeCut",
  },
  {
    group: "limits",
    name: "a header announcing more than 4 × MaxPayloadBytes is cut before the payload",
    writes: [text("", { lengthForm: 64, declaredLength: BigInt(uwsLimitBytes + 1) })],
    expect: [],
    ending: "cut",
    deviation: "oversizeCut",
  },
  {
    group: "limits",
    name: "fragments adding up to one byte over MaxPayloadBytes",
    writes: fragmented(Opcode.Text, [padded(40_000), " ".repeat(maxPayloadBytes + 1 - 40_000)]),
    expect: [tooBig()],
    ending: "close",
  },
  {
    group: "limits",
    name: "fragments adding up to more than 4 × MaxPayloadBytes",
    writes: fragmented(Opcode.Text, [padded(200_000), " ".repeat(uwsLimitBytes + 1 - 200_000)]),
    expect: [],
    ending: "cut",
    deviation: "oversizeCut",
  },
  {
    group: "limits",
    name: "JSON nested deeper than MaxDepth is answered invalid_data",
    writes: [text(`{"publish":{"event":"e","channel":"c","data":${"[".repeat(40)}${"]".repeat(40)}}}`)],
    expect: [reply(invalidData)],
    ending: "open",
  },
];

const deflateCases: RfcCase[] = [
  {
    group: "compression",
    hub: deflateHub,
    name: "a compressed text message",
    writes: [text(deflate(logout), { rsv: 4 })],
    expect: [reply(ok)],
    ending: "open",
  },
  {
    group: "compression",
    hub: deflateHub,
    name: "an uncompressed message on a compressing connection",
    writes: [text(logout)],
    expect: [reply(ok)],
    ending: "open",
  },
  {
    group: "compression",
    hub: deflateHub,
    name: "a compressed fragmented message (RSV1 on the first frame only)",
    writes: (() => {
      const packed = deflate(euroSecret);
      return fragmented(Opcode.Text, [packed.subarray(0, 5), packed.subarray(5, 9), packed.subarray(9)]).map((f, i) =>
        i === 0 ? Buffer.from([f.readUInt8(0) | 0x40, ...f.subarray(1)]) : f,
      );
    })(),
    expect: [reply(ok)],
    ending: "open",
  },
  {
    group: "compression",
    hub: deflateHub,
    name: "RSV1 on a continuation frame",
    writes: [
      text(deflate(logout).subarray(0, 3), { rsv: 4, fin: false }),
      frame(Opcode.Continuation, deflate(logout).subarray(3), { rsv: 4 }),
    ],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "compression",
    hub: deflateHub,
    name: "RSV1 on a ping is answered, and the next message is misread",
    writes: [ping("p", { rsv: 4 }), awaitFrame, text(logout)],
    expect: [pong("p")],
    ending: "cut",
    deviation: "controlRsv1Deflate",
  },
  {
    group: "compression",
    hub: deflateHub,
    name: "a compressed message that is not deflate data",
    writes: [text("not deflate", { rsv: 4 })],
    expect: [],
    ending: "cut",
    deviation: "protocolErrorCut",
  },
  {
    group: "compression",
    hub: deflateHub,
    name: "a compressed message that inflates to one byte over MaxPayloadBytes",
    writes: [text(deflate(padded(maxPayloadBytes + 1)), { rsv: 4 })],
    expect: [tooBig()],
    ending: "close",
  },
  {
    group: "compression",
    hub: deflateHub,
    name: "a compression bomb (inflates past 4 × MaxPayloadBytes)",
    writes: [text(deflate(padded(uwsLimitBytes + 4096)), { rsv: 4 })],
    expect: [],
    ending: "cut",
    deviation: "oversizeCut",
  },
  {
    group: "compression",
    hub: deflateHub,
    name: "a compressed message that inflates to invalid UTF-8",
    writes: [text(deflate(authWithSecretBytes(bytes(0xff))), { rsv: 4 })],
    expect: [],
    ending: "cut",
    deviation: "invalidUtf8Cut",
  },
];

/** Every case, in group order. */
export const rfcCases: readonly RfcCase[] = [
  ...framing,
  ...pings,
  ...reservedBits,
  ...opcodes,
  ...fragmentation,
  ...utf8Cases,
  ...closeCases,
  ...limits,
  ...deflateCases,
];
