import {
  checkChannelName,
  ErrorCode,
  encodePresenceReply,
  type HistoryCommand,
  LimitLabel,
  type PresenceCommand,
} from "@rocket/protocol";
import type { Grant } from "./grant.js";
import type { Outbox } from "./outbox.js";
import { accessDenied, encoded, failure, unavailable } from "./replies.js";
import type { SessionContext } from "./session-context.js";

const invalidChannelName = failure(ErrorCode.InvalidChannelName);
/** `{"ok":true,"users":[]}` */
const noUsers = encoded(encodePresenceReply([]));

/**
 * `raw` as a checked channel name, or undefined once `invalid_channel_name` has been answered
 * (a name that is there but too long or malformed is counted as a limit).
 */
export function checkedName(context: SessionContext, outbox: Outbox, raw: unknown): string | undefined {
  const channel = checkChannelName(raw);
  if (channel !== ErrorCode.InvalidChannelName) return channel;
  if (typeof raw === "string" && raw.length > 0) context.hub.counters.limit(LimitLabel.ChannelName);
  outbox.push(invalidChannelName);
  return undefined;
}

/** The `history` command: reads a channel's stored messages; its reply waits its turn in the outbox. */
export function queryHistory(context: SessionContext, outbox: Outbox, grant: Grant, command: HistoryCommand): void {
  const raw = command.channel;
  if (!grant.canHistory(typeof raw === "string" ? raw : "")) return outbox.push(accessDenied);
  const channel = checkedName(context, outbox, raw);
  if (channel === undefined) return;
  const read = context.history(channel, command.limit, command.since).catch((err: unknown) => {
    context.hub.logger.debug({ err, what: "history" }, "bus operation failed");
    return unavailable;
  });
  outbox.pushLater(read);
}

/** The `presence` command: who is subscribed to a channel, cluster-wide. */
export function queryPresence(context: SessionContext, outbox: Outbox, grant: Grant, command: PresenceCommand): void {
  const raw = command.channel;
  if (!grant.canPresence(typeof raw === "string" ? raw : "")) return outbox.push(accessDenied);
  const channel = checkedName(context, outbox, raw);
  if (channel === undefined) return;
  const reader = context.presence;
  if (reader === undefined) return outbox.push(noUsers);
  const read = reader(channel).catch((err: unknown) => {
    context.hub.logger.debug({ err, what: "presence" }, "bus operation failed");
    return unavailable;
  });
  outbox.pushLater(read);
}
