import {
  assertNever,
  CloseCode,
  type Command,
  checkChannelName,
  decode,
  ErrorCode,
  isReservedEvent,
  LimitLabel,
  type PublishCommand,
  RateLimitLabel,
  type Reply,
} from "@rocket/protocol";
import type { Outbox } from "./outbox.js";
import type { ReplyResult } from "./publisher.js";
import { ConnectionRates } from "./rate-limits.js";
import { accessDenied, failure, ok } from "./replies.js";
import { type AuthHost, SessionAuth } from "./session-auth.js";
import { SessionChannels } from "./session-channels.js";
import type { SessionContext } from "./session-context.js";
import { checkedName, queryHistory, queryPresence } from "./session-queries.js";

const invalidData = failure(ErrorCode.InvalidData);
const rateLimited = failure(ErrorCode.RateLimited);

/** A frame waiting for a token check to finish: its command, or the reply it already has. */
type Held = Command | Reply;

/**
 * One client connection's protocol state. Frames enter here and are dispatched by command;
 * commands take effect in the order they arrive and their replies leave in that order (the
 * outbox keeps it); only bus I/O is asynchronous. Access lives in {@link SessionAuth}, the
 * channels and the order of the commands that depend on them in {@link SessionChannels}.
 */
export class Session implements AuthHost {
  private readonly auth: SessionAuth;
  /** Created with the first subscribe. */
  private channels: SessionChannels | undefined;
  /**
   * While a token is checked (asynchronously), later frames wait here, so that each command
   * sees the access every command before it left, as with a secret.
   */
  private held: Held[] | undefined;
  /** Created when the hub has limits. */
  private readonly rates: ConnectionRates | undefined;
  /** `disconnect` was asked for (or the session was ended): later frames are ignored. */
  ending = false;

  constructor(
    private readonly context: SessionContext,
    /** Where this session's replies go; the socket handlers bracket each frame in its handler calls. */
    readonly outbox: Outbox,
  ) {
    this.auth = new SessionAuth(context, this);
    const { rates } = context;
    this.rates = rates === undefined ? undefined : new ConnectionRates(rates, performance.now());
  }

  /** Handles one client frame. */
  receive(frame: ArrayBuffer | Uint8Array | string): void {
    if (this.ending || this.outbox.closed) return;
    const { counters } = this.context.hub;
    // The read-write secret is the application's own backend: no per-connection limits.
    const rates = this.auth.grant.trusted ? undefined : this.rates;
    const now = rates === undefined ? 0 : performance.now();
    if (rates !== undefined && !rates.takeCommand(now)) return this.refuse(RateLimitLabel.Commands, now);
    const command = decode(frame, this.context.decodeOptions);
    if (command.type === "error") {
      counters.frame("invalid");
      if (command.reason === "depth") counters.limit(LimitLabel.Depth);
      this.reply(failure(command.code));
      return;
    }
    counters.frame(command.type);
    if (rates !== undefined && command.type === "publish" && !rates.takePublish(now)) {
      return this.refuse(RateLimitLabel.Publishes, now);
    }
    if (this.held !== undefined) this.held.push(command);
    else this.handle(command);
  }

  /** The socket closed (and its outbox with it): drops every subscription. Call once. */
  close(): void {
    this.context.audience?.closed(this.outbox);
    this.auth.stop();
    this.held = undefined;
    this.channels?.leaveAll();
  }

  hold(): void {
    this.held = [];
  }

  /** Runs the frames that waited for a token check, in order, until one holds them again. */
  release(): void {
    const held = this.held;
    this.held = undefined;
    if (held === undefined) return;
    for (let i = 0; i < held.length; i++) {
      if (this.ending || this.outbox.closed) return;
      // A held auth with a token holds what follows it again (TypeScript cannot see handle() set it).
      const again = this.held as Held[] | undefined;
      if (again !== undefined) {
        again.push(...held.slice(i));
        return;
      }
      const item = held[i] as Held;
      if ("type" in item) this.handle(item);
      else this.outbox.push(item);
    }
  }

  afterChannels<T>(value: Promise<T>): Promise<T> {
    return this.channels === undefined ? value : (this.channels.after(() => value) as Promise<T>);
  }

  narrowChannels(allowed: (channel: string) => boolean): string[] {
    return this.channels?.narrow(allowed) ?? [];
  }

  end(code: CloseCode, reason: string, leave: boolean): void {
    this.ending = true;
    if (leave) this.channels?.leaveAll();
    this.outbox.endAfterReplies(code, reason);
  }

  private handle(command: Command): void {
    const { context, outbox, auth } = this;
    switch (command.type) {
      case "auth":
        if ("token" in command) auth.token(command.token);
        else auth.secret(command);
        return;
      case "logout":
        auth.logout();
        return;
      case "subscribe": {
        const raw = command.channel;
        if (!auth.grant.canSubscribe(typeof raw === "string" ? raw : "")) return outbox.push(accessDenied);
        const channel = checkedName(context, outbox, raw);
        if (channel === undefined) return;
        this.channels ??= new SessionChannels(context, outbox);
        this.channels.subscribe(channel, command.since, auth.grant.trusted);
        return;
      }
      case "unsubscribe": {
        const channel = checkChannelName(command.channel);
        if (channel === ErrorCode.InvalidChannelName || this.channels === undefined) return outbox.push(ok);
        this.channels.unsubscribe(channel);
        return;
      }
      case "publish":
        this.publish(command);
        return;
      case "disconnect":
        this.ending = true;
        outbox.push(ok);
        outbox.endAfterReplies(CloseCode.Normal, "disconnect");
        return;
      case "history":
        queryHistory(context, outbox, auth.grant, command);
        return;
      case "presence":
        queryPresence(context, outbox, auth.grant, command);
        return;
      default:
        assertNever(command);
    }
  }

  private publish(command: PublishCommand): void {
    const { grant } = this.auth;
    // Events named `__…` are the server's (`__unsubscribed`, `__join`); webrocket's secret
    // sessions keep publishing them, except on channels with Presence, where they would pass for the server's.
    if (isReservedEvent(command.event) && (grant.kind === "token" || this.context.hub.presence(command.channel))) {
      return this.outbox.push(invalidData);
    }
    if (!grant.canPublish(command.channel)) return this.outbox.push(accessDenied);
    const channel = checkedName(this.context, this.outbox, command.channel);
    if (channel === undefined) return;
    const { publisher } = this.context;
    const { event, dataJson } = command;
    // No closure unless a subscribe is in flight: this runs for every publish.
    const channels = this.channels;
    const pending = channels?.pending;
    let result: ReplyResult;
    if (pending !== undefined) result = pending.then(() => publisher.publish(channel, event, dataJson));
    // A channel this connection is subscribed to exists: no registry lookup (publishers often publish where they listen).
    else if (channels?.holds(channel)) result = publisher.publishHeld(channel, event, dataJson);
    else result = publisher.publish(channel, event, dataJson);
    // Synchronous results (in-process bus, known channel) go out in the same write as the delivery.
    if (result instanceof Promise) this.outbox.pushLater(result);
    else this.outbox.push(result);
  }

  /** A reply of its own to a frame: after the frames held before it, if any. */
  private reply(reply: Reply): void {
    if (this.held !== undefined) this.held.push(reply);
    else this.outbox.push(reply);
  }

  /** A frame over a rate limit: `rate_limited`, or the end (4029) for a client that keeps at it. */
  private refuse(limit: RateLimitLabel, now: number): void {
    const { counters, logger } = this.context.hub;
    counters.rateLimited(limit);
    this.reply(rateLimited);
    if (this.rates?.refused(now)) {
      logger.info({ limit }, "rate limit far exceeded: closing with 4029");
      this.end(CloseCode.RateLimitExceeded, "rate limit far exceeded", false);
    }
  }
}
