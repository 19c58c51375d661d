import { checkChannelName } from "./channel.js";

/**
 * What a token may grant on a channel. `history` and `presence` are granted now and used by
 * the commands that need them; `history` is also implied by `subscribe`.
 */
export const Right = {
  Subscribe: "subscribe",
  Publish: "publish",
  History: "history",
  Presence: "presence",
} as const;
export type Right = (typeof Right)[keyof typeof Right];

/** Every right, in documentation order. */
export const rights: readonly Right[] = Object.values(Right);

/**
 * A token's `cap` claim: channel pattern → rights, e.g.
 * `{"chat:*": ["subscribe", "publish"], "news": ["subscribe"]}`. A pattern is an exact
 * channel name, or a prefix followed by `*` (`*` alone: every channel). A trailing `*`
 * always means "prefix": a channel whose name ends in `*` is reached through a pattern
 * that also covers the names it prefixes.
 */
export type Capabilities = Readonly<Record<string, readonly Right[]>>;

/** The outcome of {@link parseCapabilities}: the claim, or why it is refused. */
export type ParsedCapabilities =
  | { readonly ok: true; readonly cap: Capabilities }
  | { readonly ok: false; readonly reason: string };

const known = new Set<string>(rights);

/** Whether `pattern` is a channel pattern: a valid channel name, or a prefix of one ending in `*`. */
export function isChannelPattern(pattern: string): boolean {
  if (pattern === "*") return true;
  const name = pattern.endsWith("*") ? pattern.slice(0, -1) : pattern;
  return checkChannelName(name) === name;
}

/**
 * Checks a `cap` claim as it came out of a token's JSON payload. Absent (`undefined`) is an
 * empty claim: the token names a user but grants nothing. Anything else that is not an
 * object of patterns to arrays of known rights is refused, so a token minted for a newer
 * server never silently grants less than it says.
 */
export function parseCapabilities(value: unknown): ParsedCapabilities {
  if (value === undefined) return { ok: true, cap: {} };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return refuse("cap is not an object");
  const cap: Record<string, readonly Right[]> = {};
  for (const [pattern, list] of Object.entries(value)) {
    if (!isChannelPattern(pattern)) return refuse(`cap pattern ${JSON.stringify(pattern)} is not a channel name or prefix`);
    if (!Array.isArray(list)) return refuse(`cap[${JSON.stringify(pattern)}] is not an array of rights`);
    for (const right of list) {
      if (typeof right !== "string" || !known.has(right)) return refuse(`unknown right ${JSON.stringify(right)}`);
    }
    cap[pattern] = list as Right[];
  }
  return { ok: true, cap };
}

function refuse(reason: string): ParsedCapabilities {
  return { ok: false, reason };
}
