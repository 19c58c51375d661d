import { ErrorCode } from "./codes.js";

/** Longest channel name, in UTF-8 bytes. */
export const maxChannelNameBytes = 255;

const controlChars = /[\u0000-\u001f\u007f]/;
const encoder = new TextEncoder();

/**
 * Checks a channel name as sent by a client: a non-empty string of at most 255 UTF-8
 * bytes without control characters. Returns the name, or the error code to reply with.
 */
export function checkChannelName(name: unknown): string | typeof ErrorCode.InvalidChannelName {
  if (typeof name !== "string" || name.length === 0) return ErrorCode.InvalidChannelName;
  // A JS string of n UTF-16 units takes at most 3n UTF-8 bytes: only long names need encoding.
  if (name.length * 3 > maxChannelNameBytes && encoder.encode(name).length > maxChannelNameBytes) {
    return ErrorCode.InvalidChannelName;
  }
  if (controlChars.test(name)) return ErrorCode.InvalidChannelName;
  return name;
}
