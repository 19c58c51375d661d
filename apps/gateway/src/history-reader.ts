import type { Bus } from "@rocket/bus";
import { encodeHistoryReply, type StreamPosition } from "@rocket/protocol";
import type { Hub } from "./hub.js";
import { type AnyReply, encoded } from "./replies.js";

/**
 * Reads a channel's history for the `history` command: the last `limit` messages (at most
 * the channel's Size, which is also the default), or with `since` those after that position
 * (`"recovered":false` and none when they are gone), oldest first, and the position.
 * Rejects with the bus's error.
 */
export type HistoryReader = (channel: string, limit: number | undefined, since: StreamPosition | undefined) => Promise<AnyReply>;

/** `{"ok":true,"publications":[]}`: `history` of a channel without history. */
const noPublications = encoded(encodeHistoryReply([], undefined));

export function createHistoryReader(hub: Hub, bus: Pick<Bus, "history">): HistoryReader {
  return async (channel, limit, since) => {
    const history = hub.history(channel);
    if (history === undefined) return noPublications;
    const query = { since, limit: Math.min(limit ?? history.size, history.size) };
    const page = await bus.history(hub.topic(channel), query, history);
    const frames = page.entries.map((e) => e.frame);
    return encoded(encodeHistoryReply(frames, page.position, since === undefined ? undefined : page.complete));
  };
}
