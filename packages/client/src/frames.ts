import type { Access, Delivery, ErrorCode, Reply } from "@rocket/protocol";

/** A delivery as handlers receive it; `T` is what the application promises `data` holds. */
export interface Message<T = unknown> extends Delivery {
  readonly data: T;
}

/** Credentials presented with `{"auth":...}`. */
export interface Credentials {
  readonly access: Access;
  readonly secret: string;
}

/** What the server can send: a reply to the oldest open request, or a delivery. */
export type ServerFrame =
  | { readonly type: "reply"; readonly reply: Reply }
  | { readonly type: "message"; readonly message: Message };

export const encode = {
  auth: (credentials: Credentials): string =>
    JSON.stringify({ auth: { access: credentials.access, secret: credentials.secret } }),
  logout: (): string => '{"logout":true}',
  subscribe: (channel: string): string => JSON.stringify({ subscribe: { channel } }),
  unsubscribe: (channel: string): string => JSON.stringify({ unsubscribe: { channel } }),
  /** Throws when `data` cannot be JSON-encoded (a BigInt, a cycle). */
  publish: (channel: string, event: string, data: unknown): string =>
    JSON.stringify({ publish: { event, channel, data: data === undefined ? null : data } }),
  disconnect: (): string => '{"disconnect":true}',
  /**
   * A request every server answers at once without side effects: unsubscribing from no
   * channel (the protocol answers ok to any unsubscribe). Its reply times a round trip.
   */
  ping: (): string => '{"unsubscribe":{"channel":""}}',
};

/** Sorts a server frame into reply or delivery; undefined for anything else. */
export function parseServerFrame(text: string): ServerFrame | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const frame = value as Record<string, unknown>;
  if (frame.ok === true) return { type: "reply", reply: { ok: true } };
  if (typeof frame.err === "string") return { type: "reply", reply: { err: frame.err as ErrorCode } };
  if (typeof frame.event === "string" && typeof frame.channel === "string") {
    return { type: "message", message: { event: frame.event, channel: frame.channel, data: frame.data ?? null } };
  }
  return undefined;
}
