import type { StreamPosition } from "./bus.js";

/**
 * The bytes around a frame in every Redis message. On a channel without history:
 * `[origin's nowMs() as float64 LE][frame]`. On a channel with history (written by the
 * publish script, redis-scripts.ts): `[nowMs float64 LE][kind u8]`, then for kind 1 (a
 * stored message) `[offset float64 LE][epoch length u8][epoch]`, then the frame; kind 0 is a
 * frame without a position (never stored). Receivers read these few bytes and never parse
 * the frame.
 */
export const stampBytes = 8;

/** Kind byte of a history message that carries a position. */
export const positionedKind = 1;

/** A received message of a channel with history. */
export interface Envelope {
  readonly publishedAtMs: number;
  /** Undefined for a frame without a position. */
  readonly position: StreamPosition | undefined;
  readonly frame: Buffer;
}

/** The 8-byte stamp of a message published now. */
export function stamp(publishedAtMs: number): Buffer {
  const bytes = Buffer.allocUnsafe(stampBytes);
  bytes.writeDoubleLE(publishedAtMs, 0);
  return bytes;
}

/** Reads a history channel's message (or a stored stream entry); undefined when malformed. */
export function readEnvelope(payload: Buffer): Envelope | undefined {
  if (payload.length < stampBytes + 1) return undefined;
  const publishedAtMs = payload.readDoubleLE(0);
  const kind = payload[stampBytes];
  if (kind !== positionedKind) return { publishedAtMs, position: undefined, frame: payload.subarray(stampBytes + 1) };
  const at = stampBytes + 1;
  if (payload.length < at + 9) return undefined;
  const offset = payload.readDoubleLE(at);
  const epochLength = payload[at + 8] ?? 0;
  const frameAt = at + 9 + epochLength;
  if (payload.length < frameAt) return undefined;
  const epoch = payload.toString("latin1", at + 9, frameAt);
  return { publishedAtMs, position: { offset, epoch }, frame: payload.subarray(frameAt) };
}
