import { type ErrorCode, errorCodes } from "./codes.js";
import type { PresenceUser, Reply, StreamPosition } from "./commands.js";

/** `{"ok":true}`, the reply to every successful command. */
export const okReply = '{"ok":true}';

const errorReplies = new Map<ErrorCode, string>(errorCodes.map((code) => [code, `{"err":"${code}"}`]));

/** `{"err":"<code>"}`, prebuilt once per code. */
export function errorReply(code: ErrorCode): string {
  return errorReplies.get(code) ?? `{"err":${JSON.stringify(code)}}`;
}

/** Encodes any reply. */
export function encodeReply(reply: Reply): string {
  return "ok" in reply ? okReply : errorReply(reply.err);
}

/**
 * The frame subscribers receive: `{"event":E,"channel":C,"data":D}`, where `dataJson` is
 * already JSON text (the publisher's own, see `decode`). Built once per publish, at the
 * node that accepted it; every other node forwards these bytes untouched.
 */
export function encodeDelivery(event: string, channel: string, dataJson: string): string {
  return `{"event":${JSON.stringify(event)},"channel":${JSON.stringify(channel)},"data":${dataJson}}`;
}

/**
 * A delivery without its closing brace: `{"event":E,"channel":C,"data":D`. On a channel with
 * history the bus appends the position with {@link deliveryPositionParts} once it knows it.
 */
export function encodeDeliveryHead(event: string, channel: string, dataJson: string): string {
  return `{"event":${JSON.stringify(event)},"channel":${JSON.stringify(channel)},"data":${dataJson}`;
}

/**
 * What completes a {@link encodeDeliveryHead} on a channel with history:
 * head + `offset` + N + `epoch` + E + `end` gives `{"event":…,"data":D,"offset":N,"epoch":"E"}`.
 * Epochs are made of URL-safe base64 characters, which need no escaping.
 */
export const deliveryPositionParts = Object.freeze({ offset: ',"offset":', epoch: ',"epoch":"', end: '"}' });

/** A position's keys as they close a reply: `,"offset":N,"epoch":"E"}`. */
function positionTail(position: StreamPosition | undefined): string {
  return position === undefined ? "}" : `,"offset":${position.offset},"epoch":${JSON.stringify(position.epoch)}}`;
}

/**
 * The reply to a subscribe with `since`: `{"ok":true,"offset":N,"epoch":"E"}` (the position
 * subscribed at), with `"recovered":true|false` after `ok` when the client asked for recovery.
 * Without a position (a channel without history) only `ok` and `recovered` remain.
 */
export function encodeSubscribeReply(recovered: boolean | undefined, position: StreamPosition | undefined): string {
  const head = recovered === undefined ? '{"ok":true' : `{"ok":true,"recovered":${recovered}`;
  return head + positionTail(position);
}

const utf8 = new TextEncoder();
const comma = utf8.encode(",");

/**
 * The reply to `history`: `{"ok":true,"publications":[F1,F2,…],"offset":N,"epoch":"E"}`, where
 * each F is a stored delivery frame exactly as subscribers received it; with
 * `"recovered":true|false` after `ok` when the request gave `since`.
 */
export function encodeHistoryReply(
  frames: readonly Uint8Array[],
  position: StreamPosition | undefined,
  recovered?: boolean,
): Uint8Array {
  const head = utf8.encode(`{"ok":true,${recovered === undefined ? "" : `"recovered":${recovered},`}"publications":[`);
  const tail = utf8.encode(`]${positionTail(position)}`);
  let length = head.length + tail.length + Math.max(0, frames.length - 1);
  for (const f of frames) length += f.byteLength;
  const out = new Uint8Array(length);
  out.set(head, 0);
  let at = head.length;
  frames.forEach((f, i) => {
    if (i > 0) {
      out.set(comma, at);
      at += 1;
    }
    out.set(f, at);
    at += f.byteLength;
  });
  out.set(tail, at);
  return out;
}

/** The reply to `presence`: `{"ok":true,"users":[{"user":"alice","connections":2},…]}`. */
export function encodePresenceReply(users: readonly PresenceUser[]): string {
  const list = users.map((u) => `{"user":${JSON.stringify(u.user)},"connections":${u.connections}}`);
  return `{"ok":true,"users":[${list.join(",")}]}`;
}
