/** The two access levels a session can hold, as spelled on the wire. */
export type Access = "read-only" | "read-write";

/** Access levels ordered so that a higher level includes the lower (webrocket's AccessCodes). */
export const AccessLevel = { None: 0, ReadOnly: 1, ReadWrite: 2 } as const;
export type AccessLevel = (typeof AccessLevel)[keyof typeof AccessLevel];

/** Parses the wire spelling of an access level; anything else is not an access level. */
export function parseAccess(value: unknown): Access | undefined {
  return value === "read-only" || value === "read-write" ? value : undefined;
}

export function accessLevelOf(access: Access): AccessLevel {
  return access === "read-write" ? AccessLevel.ReadWrite : AccessLevel.ReadOnly;
}

/** A hub's secrets. An empty secret grants its level to any secret (webrocket's open read-only). */
export interface HubSecrets {
  readonly readOnly: string;
  readonly readWrite: string;
}

const encoder = new TextEncoder();

/**
 * Compares two secrets in time that depends only on their lengths, never on where they
 * first differ, so the secret cannot be guessed byte by byte from reply timing.
 * Written by hand (no node:crypto) so that browsers can load this package too.
 */
export function secretsEqual(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * The level a session gets for `{"auth":{access,secret}}`: the requested level when the
 * secret matches (or the hub leaves that level open), `None` when it does not.
 */
export function authenticate(secrets: HubSecrets, access: Access, secret: string): AccessLevel {
  const expected = access === "read-write" ? secrets.readWrite : secrets.readOnly;
  if (expected === "" || secretsEqual(secret, expected)) return accessLevelOf(access);
  return AccessLevel.None;
}
