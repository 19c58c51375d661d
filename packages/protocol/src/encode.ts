import { type ErrorCode, errorCodes } from "./codes.js";
import type { Reply } from "./commands.js";

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
