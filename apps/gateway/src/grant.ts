import { AccessLevel, type Capabilities, type Right } from "@rocket/protocol";

/**
 * What a session may do, per channel. A session starts with {@link noGrant}; `auth` replaces
 * its grant. Channel names reach these checks before they are validated (webrocket answers
 * `access_denied` before `invalid_channel_name`), so a grant must not assume a valid name.
 */
export interface Grant {
  /** Where the grant came from: nothing yet (or lost), a hub secret, or a token. */
  readonly kind: "none" | "secret" | "token";
  /**
   * Exempt from the per-connection abuse limits (command and publish rates, subscription
   * cap): the hub's read-write secret, which only the application's own backends hold.
   */
  readonly trusted: boolean;
  canSubscribe(channel: string): boolean;
  canPublish(channel: string): boolean;
  /** Reading a channel's history; implied by subscribe. */
  canHistory(channel: string): boolean;
  /** Asking who is subscribed to a channel. */
  canPresence(channel: string): boolean;
}

/**
 * The grant of a hub secret: webrocket's access levels, the same for every channel.
 * Read-only subscribes (and reads history and presence), read-write also publishes.
 */
class SecretGrant implements Grant {
  readonly kind: "none" | "secret";
  readonly trusted: boolean;
  constructor(private readonly level: AccessLevel) {
    this.kind = level === AccessLevel.None ? "none" : "secret";
    this.trusted = level === AccessLevel.ReadWrite;
  }
  canSubscribe(): boolean {
    return this.level >= AccessLevel.ReadOnly;
  }
  canPublish(): boolean {
    return this.level >= AccessLevel.ReadWrite;
  }
  canHistory(): boolean {
    return this.level >= AccessLevel.ReadOnly;
  }
  canPresence(): boolean {
    return this.level >= AccessLevel.ReadOnly;
  }
}

/** Nothing allowed: before `auth`, after `logout`, after refused credentials. */
export const noGrant: Grant = new SecretGrant(AccessLevel.None);
const readOnly: Grant = new SecretGrant(AccessLevel.ReadOnly);
const readWrite: Grant = new SecretGrant(AccessLevel.ReadWrite);

/** The grant of an access level won with a secret (one shared instance per level). */
export function secretGrant(level: AccessLevel): Grant {
  return level === AccessLevel.ReadWrite ? readWrite : level === AccessLevel.ReadOnly ? readOnly : noGrant;
}

/** One bit per right. */
const Bit = { subscribe: 1, publish: 2, history: 4, presence: 8 } as const satisfies Record<Right, number>;

function maskOf(rights: readonly Right[]): number {
  let mask = 0;
  for (const right of rights) mask |= Bit[right];
  // Whoever may follow a channel live may read what it missed.
  if ((mask & Bit.subscribe) !== 0) mask |= Bit.history;
  return mask;
}

/**
 * The grant of a token: its `cap` compiled once, at `auth`, into a bit mask for `*`, a map
 * of exact names and a sorted list of prefixes, so that each check is one map lookup and a
 * short scan of `startsWith` without allocating. A channel gets the union of the rights of
 * every pattern that matches it.
 */
export class TokenGrant implements Grant {
  readonly kind = "token";
  readonly trusted = false;
  /** Rights on every channel (the pattern `*`). */
  private readonly everywhere: number;
  private readonly exact: ReadonlyMap<string, number>;
  private readonly prefixes: readonly string[];
  private readonly prefixMasks: readonly number[];

  constructor(cap: Capabilities) {
    let everywhere = 0;
    const exact = new Map<string, number>();
    const prefixed = new Map<string, number>();
    for (const [pattern, rights] of Object.entries(cap)) {
      const mask = maskOf(rights);
      if (mask === 0) continue;
      if (pattern === "*") everywhere |= mask;
      else if (pattern.endsWith("*")) {
        const prefix = pattern.slice(0, -1);
        prefixed.set(prefix, (prefixed.get(prefix) ?? 0) | mask);
      } else exact.set(pattern, (exact.get(pattern) ?? 0) | mask);
    }
    // Sorted, a prefix comes after every shorter prefix of it: drop the rights those already give.
    const prefixes: string[] = [];
    const prefixMasks: number[] = [];
    for (const prefix of [...prefixed.keys()].sort()) {
      let mask = (prefixed.get(prefix) ?? 0) & ~everywhere;
      for (let i = 0; i < prefixes.length; i++) if (prefix.startsWith(prefixes[i] as string)) mask &= ~(prefixMasks[i] as number);
      if (mask === 0) continue;
      prefixes.push(prefix);
      prefixMasks.push(mask);
    }
    this.everywhere = everywhere;
    this.exact = exact;
    this.prefixes = prefixes;
    this.prefixMasks = prefixMasks;
  }

  canSubscribe(channel: string): boolean {
    return this.allows(channel, Bit.subscribe);
  }
  canPublish(channel: string): boolean {
    return this.allows(channel, Bit.publish);
  }
  canHistory(channel: string): boolean {
    return this.allows(channel, Bit.history);
  }
  canPresence(channel: string): boolean {
    return this.allows(channel, Bit.presence);
  }

  private allows(channel: string, bit: number): boolean {
    if ((this.everywhere & bit) !== 0) return true;
    const exact = this.exact.get(channel);
    if (exact !== undefined && (exact & bit) !== 0) return true;
    const { prefixes, prefixMasks } = this;
    for (let i = 0; i < prefixes.length; i++) {
      if (((prefixMasks[i] as number) & bit) !== 0 && channel.startsWith(prefixes[i] as string)) return true;
    }
    return false;
  }
}
