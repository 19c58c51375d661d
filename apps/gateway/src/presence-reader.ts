import { encodePresenceReply } from "@rocket/protocol";
import type { HubAudience } from "./audience.js";
import { type AnyReply, encoded } from "./replies.js";

/**
 * Reads a channel's users for the `presence` command: `{"ok":true,"users":[…]}`, cluster-wide
 * (none on a channel without Presence). Rejects with the bus's error.
 */
export type PresenceReader = (channel: string) => Promise<AnyReply>;

export function createPresenceReader(audience: Pick<HubAudience, "users">): PresenceReader {
  return async (channel) => encoded(encodePresenceReply(await audience.users(channel)));
}
