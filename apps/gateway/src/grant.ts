import { AccessLevel } from "@rocket/protocol";

/**
 * What a session may do, per channel. A session starts with {@link noGrant}; `auth` replaces
 * its grant. Channel names reach these checks before they are validated (webrocket answers
 * `access_denied` before `invalid_channel_name`), so a grant must not assume a valid name.
 */
export interface Grant {
  canSubscribe(channel: string): boolean;
  canPublish(channel: string): boolean;
}

/**
 * The grant of a hub secret: webrocket's access levels, the same for every channel.
 * Read-only subscribes, read-write also publishes.
 */
class SecretGrant implements Grant {
  constructor(private readonly level: AccessLevel) {}
  canSubscribe(): boolean {
    return this.level >= AccessLevel.ReadOnly;
  }
  canPublish(): boolean {
    return this.level >= AccessLevel.ReadWrite;
  }
}

/** Nothing allowed: before `auth`, after `logout`, after a wrong secret. */
export const noGrant: Grant = new SecretGrant(AccessLevel.None);
const readOnly: Grant = new SecretGrant(AccessLevel.ReadOnly);
const readWrite: Grant = new SecretGrant(AccessLevel.ReadWrite);

/** The grant of an access level won with a secret (one shared instance per level). */
export function secretGrant(level: AccessLevel): Grant {
  return level === AccessLevel.ReadWrite ? readWrite : level === AccessLevel.ReadOnly ? readOnly : noGrant;
}
