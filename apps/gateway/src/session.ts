import {
  AccessLevel,
  assertNever,
  authenticate,
  CloseCode,
  type Command,
  checkChannelName,
  type DecodeOptions,
  decode,
  ErrorCode,
  LimitLabel,
  type PublishCommand,
  type Reply,
} from "@rocket/protocol";
import { type Grant, noGrant, secretGrant } from "./grant.js";
import type { Hub } from "./hub.js";
import type { Outbox } from "./outbox.js";
import type { Publisher, ReplyResult } from "./publisher.js";
import { accessDenied, failure, ok, unavailable } from "./replies.js";
import type { Subscriber } from "./subscriber.js";

/** What the sessions of one hub share (one object per hub, not per connection). */
export interface SessionContext {
  readonly hub: Hub;
  readonly publisher: Publisher;
  readonly subscriber: Subscriber;
  readonly decodeOptions: DecodeOptions;
}

const invalidCredentials = failure(ErrorCode.InvalidCredentials);
const invalidChannelName = failure(ErrorCode.InvalidChannelName);

/**
 * One client connection's protocol state: its grant and channels. Frames enter here; commands
 * take effect in the order they arrive and their replies leave in that order (the outbox
 * keeps it); only bus I/O is asynchronous. A publish waits for an earlier
 * subscribe/unsubscribe of the same session (it may depend on the channel that subscribe
 * creates); publishes do not wait for each other, they are handed to the bus in order.
 */
export class Session {
  private grant: Grant = noGrant;
  /** Created with the first subscription. */
  private channels: Set<string> | undefined;
  /** The last pending subscribe/unsubscribe; later commands that depend on it chain after it. */
  private barrier: Promise<void> | undefined;
  /** `disconnect` was asked for: later frames are ignored. */
  private disconnecting = false;

  constructor(
    private readonly context: SessionContext,
    /** Where this session's replies go; the socket handlers bracket each frame in its handler calls. */
    readonly outbox: Outbox,
  ) {}

  /** Handles one client frame. */
  receive(frame: ArrayBuffer | Uint8Array | string): void {
    if (this.disconnecting || this.outbox.closed) return;
    const { counters } = this.context.hub;
    const command = decode(frame, this.context.decodeOptions);
    if (command.type === "error") {
      counters.frame("invalid");
      if (command.reason === "depth") counters.limit(LimitLabel.Depth);
      this.outbox.push(failure(command.code));
      return;
    }
    counters.frame(command.type);
    this.handle(command);
  }

  /** The socket closed (and its outbox with it): drops every subscription. Call once. */
  close(): void {
    const release = () => {
      for (const channel of this.channels ?? []) this.context.subscriber.unsubscribe(this.outbox, channel);
      this.channels = undefined;
    };
    // A subscribe still in flight takes its bus reference when it settles: release after it.
    if (this.barrier) void this.barrier.then(release);
    else release();
  }

  private handle(command: Command): void {
    switch (command.type) {
      case "auth": {
        const level = authenticate(this.context.hub.secrets, command.access, command.secret);
        this.grant = secretGrant(level);
        this.outbox.push(level === AccessLevel.None ? invalidCredentials : ok);
        return;
      }
      case "logout":
        this.grant = noGrant;
        this.outbox.push(ok);
        return;
      case "subscribe":
        this.subscribe(command.channel);
        return;
      case "unsubscribe":
        this.unsubscribe(command.channel);
        return;
      case "publish":
        this.publish(command);
        return;
      case "disconnect":
        this.disconnecting = true;
        this.outbox.push(ok);
        this.outbox.endAfterReplies(CloseCode.Normal, "disconnect");
        return;
      default:
        assertNever(command);
    }
  }

  private subscribe(rawChannel: unknown): void {
    if (!this.grant.canSubscribe(typeof rawChannel === "string" ? rawChannel : "")) return this.outbox.push(accessDenied);
    const channel = checkChannelName(rawChannel);
    if (channel === ErrorCode.InvalidChannelName) return this.rejectName(rawChannel);
    if (this.channels?.has(channel)) return this.outbox.push(ok);
    this.channels ??= new Set();
    this.channels.add(channel);
    const op = this.afterBarrier(() =>
      this.context.subscriber.subscribe(this.outbox, channel).then(
        () => ok,
        (err: unknown) => {
          this.channels?.delete(channel);
          this.context.hub.logger.debug({ err, what: "subscribe" }, "bus operation failed");
          return unavailable;
        },
      ),
    );
    this.replyLater(op);
    this.setBarrier(op);
  }

  private unsubscribe(rawChannel: unknown): void {
    const channel = checkChannelName(rawChannel);
    if (channel === ErrorCode.InvalidChannelName || !this.channels?.has(channel)) return this.outbox.push(ok);
    const leave = (): Reply => {
      this.channels?.delete(channel);
      this.context.subscriber.unsubscribe(this.outbox, channel);
      return ok;
    };
    if (this.barrier === undefined) return this.outbox.push(leave());
    const op = this.afterBarrier(async () => leave());
    this.replyLater(op);
    this.setBarrier(op);
  }

  private publish(command: PublishCommand): void {
    if (!this.grant.canPublish(command.channel)) return this.outbox.push(accessDenied);
    const channel = checkChannelName(command.channel);
    if (channel === ErrorCode.InvalidChannelName) return this.rejectName(command.channel);
    const { publisher } = this.context;
    const { event, dataJson } = command;
    const result: ReplyResult =
      this.barrier === undefined
        ? publisher.publish(channel, event, dataJson)
        : this.barrier.then(() => publisher.publish(channel, event, dataJson));
    // Synchronous results (in-process bus, known channel) go out in the same write as the delivery.
    if (result instanceof Promise) this.replyLater(result);
    else this.outbox.push(result);
  }

  /** Later commands wait for `op`; once it settled (and nothing newer is pending) they need not. */
  private setBarrier(op: Promise<Reply>): void {
    const barrier = op.then(noop);
    this.barrier = barrier;
    void barrier.then(() => {
      if (this.barrier === barrier) this.barrier = undefined;
    });
  }

  private afterBarrier(op: () => Promise<Reply>): Promise<Reply> {
    return this.barrier === undefined ? op() : this.barrier.then(op);
  }

  private replyLater(op: Promise<Reply>): void {
    const ticket = this.outbox.reserve();
    void op.then((reply) => this.outbox.fill(ticket, reply));
  }

  private rejectName(raw: unknown): void {
    if (typeof raw === "string" && raw.length > 0) this.context.hub.counters.limit(LimitLabel.ChannelName);
    this.outbox.push(invalidChannelName);
  }
}

function noop(): void {}
