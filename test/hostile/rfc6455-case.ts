import { constants, deflateRawSync } from "node:zlib";
import { encodeFrame, type FrameSpec, Opcode } from "../harness/raw-websocket.js";

/**
 * RFC 6455 at the socket: what the gateway does with each kind of frame, grouped as the
 * Autobahn test suite groups them (the groups are in rfc6455-*-cases.ts; this file has
 * what they share). Every case states the exact outcome; where uWebSockets.js departs
 * from the RFC the case names the deviation, and docs/protocol.md ("uWebSockets.js and
 * RFC 6455") has a row for each one.
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

export const ok = '{"ok":true}';
export const invalidData = '{"err":"invalid_data"}';
export const reply = (text: string): Expected => ({ reply: text });
export const pong = (payload: string | Buffer): Expected => ({ pong: Buffer.from(payload) });
export const close = (code: number | undefined, reason = ""): Expected => ({ close: code, reason });

/** A frame; `fin` and the mask default to RFC-conforming values. */
export const frame = (opcode: number, payload: string | Uint8Array = "", extra: Omit<FrameSpec, "opcode" | "payload"> = {}) =>
  encodeFrame({ opcode, payload, ...extra });
export const text = (payload: string | Uint8Array, extra: Omit<FrameSpec, "opcode" | "payload"> = {}) =>
  frame(Opcode.Text, payload, extra);
export const binary = (payload: string | Uint8Array, extra: Omit<FrameSpec, "opcode" | "payload"> = {}) =>
  frame(Opcode.Binary, payload, extra);
export const more = (payload: string | Uint8Array, fin = true) => frame(Opcode.Continuation, payload, { fin });
export const ping = (payload: string | Uint8Array = "", extra: Omit<FrameSpec, "opcode" | "payload"> = {}) =>
  frame(Opcode.Ping, payload, extra);
export const closeFrame = (payload: Uint8Array = Buffer.alloc(0), extra: Omit<FrameSpec, "opcode" | "payload"> = {}) =>
  frame(Opcode.Close, payload, extra);

/** A command that needs no access and is answered `{"ok":true}`. */
export const logout = '{"logout":true}';
/** Answered ok on either hub (read-only is open); `secret` carries any text. */
export const authReadOnly = (secret: string) => `{"auth":{"access":"read-only","secret":${JSON.stringify(secret)}}}`;
/** `logout` padded with spaces to exactly `size` bytes: still answered ok. */
export const padded = (size: number) => logout + " ".repeat(size - logout.length);
/** Splits bytes into `n`-byte pieces. */
export const pieces = (bytes: Buffer, n: number): Buffer[] => {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += n) out.push(bytes.subarray(at, at + n));
  return out;
};
/** One message as a first frame plus continuation frames, one per piece. */
export const fragmented = (opcode: number, parts: readonly (string | Uint8Array)[]): Buffer[] =>
  parts.map((part, i) => frame(i === 0 ? opcode : Opcode.Continuation, part, { fin: i === parts.length - 1 }));
/** RFC 7692 compression of one message: raw deflate, sync-flushed, without the 00 00 ff ff tail. */
export const deflate = (payload: string | Uint8Array): Buffer => {
  const out = deflateRawSync(Buffer.from(payload), { finishFlush: constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
};
export const utf8 = (text: string) => Buffer.from(text);
export const bytes = (...values: number[]) => Buffer.from(values);
/** An auth frame whose secret is the given raw bytes (valid or not as UTF-8). */
export const authWithSecretBytes = (secret: Buffer) =>
  Buffer.concat([utf8('{"auth":{"access":"read-only","secret":"'), secret, utf8('"}}')]);
/** An auth frame with two-, three- and four-byte characters in its secret. */
export const euroSecret = authReadOnly("price: €5, clef: 𝄞, é");
