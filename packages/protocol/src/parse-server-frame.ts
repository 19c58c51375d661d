import type { ErrorCode } from "./codes.js";
import type { Delivery, Reply } from "./commands.js";

/**
 * The keys of a server frame beyond the ones webrocket v0.2 defines, exactly as sent:
 * newer servers add `offset` and `epoch` to deliveries and `recovered`, `publications` or
 * `users` to replies. Empty for every v0.2 frame. Kept rather than dropped or refused, so
 * that a client reading them needs no new parser.
 */
export type FrameExtras = Readonly<Record<string, unknown>>;

/** A server frame sorted by what it is. */
export type ServerFrame =
  /** `{"ok":true,...}` or `{"err":"code",...}`: the answer to the oldest request not yet answered. */
  | { readonly type: "reply"; readonly reply: Reply; readonly extras: FrameExtras }
  /** `{"event":E,"channel":C,"data":D,...}`: a message on a subscribed channel (`data` null when absent). */
  | { readonly type: "delivery"; readonly delivery: Delivery; readonly extras: FrameExtras };

const okReply: Reply = Object.freeze({ ok: true });
const noExtras: FrameExtras = Object.freeze({});
const okKeys = new Set(["ok"]);
const errKeys = new Set(["err"]);
const deliveryKeys = new Set(["event", "channel", "data"]);

/**
 * Sorts one server frame (text as received) into a reply or a delivery; `undefined` for
 * anything else (not JSON, not an object, `{"ok":false}`, a delivery without a string
 * `event` and `channel`). Never throws. An error code this version does not list is
 * passed on as it came.
 */
export function parseServerFrame(text: string): ServerFrame | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const frame = value as Record<string, unknown>;
  if (frame.ok === true) return { type: "reply", reply: okReply, extras: extrasOf(frame, okKeys) };
  if (typeof frame.err === "string") {
    return { type: "reply", reply: { err: frame.err as ErrorCode }, extras: extrasOf(frame, errKeys) };
  }
  const { event, channel } = frame;
  if (typeof event === "string" && typeof channel === "string") {
    const delivery: Delivery = { event, channel, data: frame.data ?? null };
    return { type: "delivery", delivery, extras: extrasOf(frame, deliveryKeys) };
  }
  return undefined;
}

/** The keys of `frame` not in `known`; the shared empty record when there are none (every v0.2 frame). */
function extrasOf(frame: Record<string, unknown>, known: ReadonlySet<string>): FrameExtras {
  const keys = Object.keys(frame);
  let extra = keys.length;
  for (const key of keys) if (known.has(key)) extra--;
  if (extra === 0) return noExtras;
  // fromEntries defines own properties: a "__proto__" key stays a key, never a prototype.
  return Object.fromEntries(keys.filter((key) => !known.has(key)).map((key) => [key, frame[key]]));
}
