import type { Bus, ChannelRegistry } from "@rocket/bus";
import {
  AccessLevel,
  assertNever,
  authenticate,
  type Command,
  checkChannelName,
  decode,
  ErrorCode,
  encodeDelivery,
  errorReply,
  okReply,
  type PublishCommand,
} from "@rocket/protocol";
import type { Hub } from "./hub.js";
import { ReplyQueue } from "./reply-queue.js";

/** What a session needs of its WebSocket (uWS in production, a fake in unit tests). */
export interface SessionSocket {
  send(text: string): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  end(code: number, reason: string): void;
}

export interface SessionLimits {
  readonly maxDepth: number;
}

const invalidChannelReply = errorReply(ErrorCode.InvalidChannel);
const unavailableReply = errorReply(ErrorCode.Unavailable);

/**
 * One client connection's protocol state: its access level and channels. Commands take
 * effect in the order they arrive and their replies leave in that order; only bus I/O is
 * asynchronous. A publish waits for an earlier subscribe/unsubscribe of the same session
 * (it may depend on the channel that subscribe creates); publishes do not wait for each
 * other, they are handed to the bus in order.
 */
export class Session {
  private access: AccessLevel = AccessLevel.None;
  private readonly channels = new Set<string>();
  private readonly replies: ReplyQueue;
  /** The last pending subscribe/unsubscribe; later commands that depend on it chain after it. */
  private barrier: Promise<void> | undefined;
  private closed = false;
  private disconnecting = false;

  constructor(
    private readonly hub: Hub,
    private readonly bus: Bus,
    private readonly registry: ChannelRegistry,
    private readonly socket: SessionSocket,
    private readonly limits: SessionLimits,
  ) {
    this.replies = new ReplyQueue((text) => this.send(text));
  }

  /** Handles one client frame. */
  receive(frame: ArrayBuffer | Uint8Array | string): void {
    if (this.closed || this.disconnecting) return;
    const command = decode(frame, this.limits);
    if (command.type === "error") {
      this.hub.counters.frame("invalid");
      if (command.reason === "depth") this.hub.counters.limit("depth");
      this.reply(errorReply(command.code));
      return;
    }
    this.hub.counters.frame(command.type);
    this.handle(command);
  }

  private handle(command: Command): void {
    switch (command.type) {
      case "auth":
        this.access = authenticate(this.hub.secrets, command.access, command.secret);
        this.reply(this.access === AccessLevel.None ? errorReply(ErrorCode.InvalidCredentials) : okReply);
        return;
      case "logout":
        this.access = AccessLevel.None;
        this.reply(okReply);
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
        this.reply(okReply);
        void this.replies.whenIdle().then(() => {
          if (!this.closed) this.socket.end(1000, "disconnect");
        });
        return;
      default:
        assertNever(command);
    }
  }

  private subscribe(rawChannel: unknown): void {
    if (this.access < AccessLevel.ReadOnly) return this.reply(errorReply(ErrorCode.AccessDenied));
    const channel = checkChannelName(rawChannel);
    if (channel === ErrorCode.InvalidChannelName) return this.rejectName(rawChannel);
    if (this.channels.has(channel)) return this.reply(okReply);
    this.channels.add(channel);
    const topic = this.hub.topic(channel);
    const op = this.afterBarrier(() =>
      Promise.all([this.registry.register(this.hub.path, channel), this.bus.subscribe(topic)]).then(
        () => {
          if (!this.closed) this.socket.subscribe(topic);
          return okReply;
        },
        (err: unknown) => {
          this.channels.delete(channel);
          return this.busFailure(err, "subscribe");
        },
      ),
    );
    this.replyLater(op);
    this.setBarrier(op);
  }

  private unsubscribe(rawChannel: unknown): void {
    const channel = checkChannelName(rawChannel);
    if (channel === ErrorCode.InvalidChannelName || !this.channels.has(channel)) return this.reply(okReply);
    const leave = () => {
      this.channels.delete(channel);
      const topic = this.hub.topic(channel);
      if (!this.closed) this.socket.unsubscribe(topic);
      void this.bus.unsubscribe(topic);
      return okReply;
    };
    if (this.barrier === undefined) return this.reply(leave());
    const op = this.afterBarrier(async () => leave());
    this.replyLater(op);
    this.setBarrier(op);
  }

  private publish(command: PublishCommand): void {
    if (this.access < AccessLevel.ReadWrite) return this.reply(errorReply(ErrorCode.AccessDenied));
    const channel = checkChannelName(command.channel);
    if (channel === ErrorCode.InvalidChannelName) return this.rejectName(command.channel);
    // Built once here; every node forwards these bytes untouched.
    const frame = Buffer.from(encodeDelivery(command.event, channel, command.dataJson));
    const topic = this.hub.topic(channel);
    const result =
      this.barrier === undefined
        ? this.publishExisting(channel, topic, frame)
        : this.barrier.then(() => this.publishExisting(channel, topic, frame));
    // Synchronous results (in-process bus, known channel) go out in the same write as the delivery.
    if (typeof result === "string") this.reply(result);
    else this.replyLater(result);
  }

  private publishExisting(channel: string, topic: string, frame: Buffer): string | Promise<string> {
    const exists = this.registry.exists(this.hub.path, channel);
    if (exists === true) return this.send2bus(topic, frame);
    if (exists === false) return invalidChannelReply;
    return exists.then(
      (yes) => (yes ? this.send2bus(topic, frame) : invalidChannelReply),
      (err: unknown) => this.busFailure(err, "channel lookup"),
    );
  }

  private send2bus(topic: string, frame: Buffer): string | Promise<string> {
    let accepted: Promise<void> | undefined;
    try {
      accepted = this.bus.publish(topic, frame);
    } catch (err) {
      return this.busFailure(err, "publish");
    }
    if (accepted === undefined) {
      this.hub.counters.publishesAccepted.inc();
      return okReply;
    }
    return accepted.then(
      () => {
        this.hub.counters.publishesAccepted.inc();
        return okReply;
      },
      (err: unknown) => this.busFailure(err, "publish"),
    );
  }

  /** Drops every subscription; call once when the socket closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const release = () => {
      for (const channel of this.channels) void this.bus.unsubscribe(this.hub.topic(channel));
      this.channels.clear();
    };
    // A subscribe still in flight takes its bus reference when it settles: release after it.
    if (this.barrier) void this.barrier.then(release);
    else release();
  }

  /** Later commands wait for `op`; once it settled (and nothing newer is pending) they need not. */
  private setBarrier(op: Promise<string>): void {
    const barrier = op.then(noop);
    this.barrier = barrier;
    void barrier.then(() => {
      if (this.barrier === barrier) this.barrier = undefined;
    });
  }

  private afterBarrier(op: () => Promise<string>): Promise<string> {
    return this.barrier === undefined ? op() : this.barrier.then(op);
  }

  private rejectName(raw: unknown): void {
    if (typeof raw === "string" && raw.length > 0) this.hub.counters.limit("channel_name");
    this.reply(errorReply(ErrorCode.InvalidChannelName));
  }

  private busFailure(err: unknown, what: string): string {
    this.hub.logger.debug({ err, what }, "bus operation failed");
    return unavailableReply;
  }

  private reply(text: string): void {
    this.replies.push(text);
  }

  private replyLater(op: Promise<string>): void {
    const ticket = this.replies.reserve();
    void op.then((text) => this.replies.fill(ticket, text));
  }

  private send(text: string): void {
    if (this.closed) return;
    this.hub.counters.reply(text === okReply ? "ok" : replyCode(text));
    this.hub.counters.bytesSent.inc(text.length);
    this.socket.send(text);
  }
}

function noop(): void {}

const codeByReply = new Map(Object.values(ErrorCode).map((code) => [errorReply(code), code]));
function replyCode(text: string): string {
  return codeByReply.get(text) ?? "other";
}
