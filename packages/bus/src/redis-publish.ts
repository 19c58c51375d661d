import { Command } from "ioredis";
import { RedisTimeoutError } from "./redis-deadline.js";
import { stampBytes } from "./redis-envelope.js";

/**
 * The publish of a plain envelope (redis-envelope.ts), on the hot path. Its RESP bytes are
 * built in one buffer, stamp and frame in place, where ioredis would copy the envelope
 * into a buffer of its own; and it arms no timer of its own: {@link PublishDeadlines}
 * keeps the deadline of every publish in flight with one.
 */
class PlainPublish extends Command {
  /** The next publish sent after this one, while both are in {@link PublishDeadlines}. */
  next: PlainPublish | undefined = undefined;
  private readonly resp: Buffer;

  constructor(
    name: "publish" | "spublish",
    channel: string,
    frame: Uint8Array,
    /** When it was sent (`performance.now()`); its stamp is the same moment as `nowMs()`. */
    readonly sentAt: number,
  ) {
    // The channel as its one argument: a Cluster routes the command by it.
    super(name, [channel]);
    const size = stampBytes + frame.byteLength;
    const head = `*3\r\n$${name.length}\r\n${name}\r\n$${Buffer.byteLength(channel)}\r\n${channel}\r\n$${size}\r\n`;
    const headBytes = Buffer.byteLength(head);
    const resp = Buffer.allocUnsafe(headBytes + size + 2);
    resp.write(head, 0, "utf8");
    resp.writeDoubleLE(performance.timeOrigin + sentAt, headBytes);
    resp.set(frame, headBytes + stampBytes);
    resp[headBytes + size] = 13;
    resp[headBytes + size + 1] = 10;
    this.resp = resp;
  }

  override toWritable(): Buffer {
    return this.resp;
  }

  /** ioredis's per-command timer (its `commandTimeout`): not for these, see {@link PublishDeadlines}. */
  override setTimeout(): void {}
}

/** What ioredis's Redis and Cluster both are to a publish: something that sends a command. */
interface CommandSender {
  sendCommand(command: Command): unknown;
}

/** Plain publishes sent on `connection` as `name`, each one with its deadline (see {@link PublishDeadlines}). */
export function createPlainPublisher(connection: CommandSender, name: "publish" | "spublish", timeoutMs: number) {
  const deadlines = new PublishDeadlines(timeoutMs, name.toUpperCase());
  return {
    /** Sends `frame` on `channel`, stamped `sentAt` (a `performance.now()`); resolves with Redis's answer. */
    send(channel: string, frame: Uint8Array, sentAt: number): Promise<unknown> {
      const command = new PlainPublish(name, channel, frame, sentAt);
      void connection.sendCommand(command);
      deadlines.add(command);
      return command.promise;
    },
    /** Forgets the publishes in flight (the link closed: ioredis rejects them). */
    clear: () => deadlines.clear(),
  };
}

/**
 * The deadline of every {@link PlainPublish} in flight, with one timer: the publishes are
 * kept in the order they were sent, which is the order of their deadlines, and the timer is
 * armed for the oldest one not answered yet. One past its deadline is rejected with a
 * {@link RedisTimeoutError}, as the link's other commands are.
 */
class PublishDeadlines {
  private oldest: PlainPublish | undefined;
  private newest: PlainPublish | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly what: string,
  ) {}

  /** Starts the deadline of `publish`, just sent. */
  add(publish: PlainPublish): void {
    this.dropAnswered();
    if (this.newest === undefined) this.oldest = publish;
    else this.newest.next = publish;
    this.newest = publish;
    if (this.timer === undefined) this.arm(publish.sentAt);
  }

  /** Forgets every publish (the link closed: ioredis rejects what it had in flight). */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.oldest = undefined;
    this.newest = undefined;
  }

  private arm(sentAt: number): void {
    this.timer = setTimeout(this.expire, Math.max(0, sentAt + this.timeoutMs - performance.now()));
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    this.dropAnswered();
    const now = performance.now();
    let oldest = this.oldest;
    while (oldest !== undefined && oldest.sentAt + this.timeoutMs <= now) {
      if (!oldest.isSettled) oldest.reject(new RedisTimeoutError(this.what, this.timeoutMs));
      oldest = this.shift(oldest);
    }
    if (oldest !== undefined) this.arm(oldest.sentAt);
  };

  /** Drops the answered publishes at the old end (Redis answers a connection's commands in order). */
  private dropAnswered(): void {
    let oldest = this.oldest;
    while (oldest?.isSettled) oldest = this.shift(oldest);
  }

  private shift(oldest: PlainPublish): PlainPublish | undefined {
    const next = oldest.next;
    oldest.next = undefined;
    this.oldest = next;
    if (next === undefined) this.newest = undefined;
    return next;
  }
}
