import { assertNever, type Command, type PublishCommand } from "./commands.js";

/**
 * A publish as a sender writes it: `data` as a value, or `dataJson` as JSON text built
 * beforehand (it wins when both are given, so a decoded {@link PublishCommand} encodes
 * back to the bytes the client sent).
 */
export interface PublishToSend {
  readonly type: "publish";
  readonly event: string;
  readonly channel: string;
  /** Any JSON value; `undefined` is sent as `null`. */
  readonly data?: unknown;
  /** `data` already encoded as JSON text; written as it is, unchecked. */
  readonly dataJson?: string;
}

/** Every command a client may send, with a publish's data given either way. */
export type CommandToSend = Exclude<Command, PublishCommand> | PublishToSend;

/**
 * The exact JSON text a client sends for a command, as a webrocket v0.2 client writes it
 * (key order included). Throws when a publish's `data` cannot be JSON-encoded (a BigInt,
 * a cycle); a value JSON has no text for (a function) is sent as `null`.
 */
export function encodeCommand(command: CommandToSend): string {
  switch (command.type) {
    case "auth":
      if ("token" in command) return `{"auth":{"token":${JSON.stringify(command.token)}}}`;
      return `{"auth":{"access":${JSON.stringify(command.access)},"secret":${JSON.stringify(command.secret)}}}`;
    case "subscribe":
      return JSON.stringify({ subscribe: { channel: command.channel, since: command.since } });
    case "unsubscribe":
      return JSON.stringify({ unsubscribe: { channel: command.channel } });
    case "presence":
      return JSON.stringify({ presence: { channel: command.channel } });
    case "publish": {
      const data = command.dataJson ?? JSON.stringify(command.data) ?? "null";
      return `{"publish":{"event":${JSON.stringify(command.event)},"channel":${JSON.stringify(command.channel)},"data":${data}}}`;
    }
    case "logout":
      return '{"logout":true}';
    case "disconnect":
      return '{"disconnect":true}';
    case "history":
      return JSON.stringify({ history: { channel: command.channel, limit: command.limit, since: command.since } });
    default:
      return assertNever(command);
  }
}
