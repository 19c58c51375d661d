import { ErrorCode, LimitLabel, type Since } from "@rocket/protocol";
import type { Outbox } from "./outbox.js";
import { type AnyReply, failure, ok, unavailable } from "./replies.js";
import type { SessionContext } from "./session-context.js";

const limitExceeded = failure(ErrorCode.LimitExceeded);

/**
 * One channel the client subscribed to and has not left: `joining` while its subscribe is
 * in flight (a repeat of it gets `repeat`, its outcome, in order after it), `joined` once the
 * subscriber holds it (only then does leaving give anything back).
 */
interface Membership {
  state: "joining" | "joined";
  readonly repeat: Promise<AnyReply>;
}

/**
 * The channels of one session, and the one owner of the order of the commands that depend on
 * them: a subscribe or unsubscribe in flight is the barrier; a publish waits for it (it may
 * depend on the channel that subscribe creates), so does a token's check (narrowing a
 * refreshed token's channels sees every one of them); publishes do not wait for each other.
 * Created with the session's first subscribe.
 */
export class SessionChannels {
  private readonly members = new Map<string, Membership>();
  /** The last pending subscribe/unsubscribe; later commands that depend on it chain after it. */
  private barrier: Promise<void> | undefined;

  constructor(
    private readonly context: SessionContext,
    private readonly outbox: Outbox,
  ) {}

  /** Subscribes to `channel`, a checked name the grant allows; `trusted` sessions have no cap on channels. */
  subscribe(channel: string, since: Since | undefined, trusted: boolean): void {
    const { members, outbox } = this;
    const existing = members.get(channel);
    // Subscribing twice is one subscription: a repeat while the first is in flight gets its
    // outcome, never an ok before the subscription is in place.
    if (existing?.state === "joining") return outbox.pushLater(existing.repeat);
    if (existing !== undefined) return outbox.push(ok);
    const most = this.context.limits?.subscriptionsPerConnection;
    if (most !== undefined && !trusted && members.size >= most) {
      this.context.hub.counters.limit(LimitLabel.Subscriptions);
      return outbox.push(limitExceeded);
    }
    let settled: (repeat: AnyReply) => void = noop;
    const membership: Membership = { state: "joining", repeat: new Promise((resolve) => (settled = resolve)) };
    members.set(channel, membership);
    // The subscriber writes the ok itself, in the same step as the socket joins the topic.
    const ticket = outbox.reserve();
    const join = (): Promise<AnyReply> =>
      this.context.subscriber.subscribe(outbox, channel, since, ticket).then(
        () => {
          membership.state = "joined";
          settled(ok);
          return ok;
        },
        (err: unknown) => {
          if (members.get(channel) === membership) members.delete(channel);
          this.context.hub.logger.debug({ err, what: "subscribe" }, "bus operation failed");
          settled(unavailable);
          outbox.fill(ticket, unavailable);
          return unavailable;
        },
      );
    this.setBarrier(this.barrier === undefined ? join() : this.barrier.then(join));
  }

  /** Leaves `channel` (a checked name); `ok` also when it was never joined. */
  unsubscribe(channel: string): void {
    const membership = this.members.get(channel);
    if (membership === undefined) return this.outbox.push(ok);
    // Left now: a subscribe after this is a new one, after this unsubscribe.
    this.members.delete(channel);
    const leave = (): AnyReply => {
      // The subscribe before it has settled by now (the barrier): give back what it took.
      if (membership.state === "joined") this.context.subscriber.unsubscribe(this.outbox, channel);
      return ok;
    };
    if (this.barrier === undefined) return this.outbox.push(leave());
    const op = this.barrier.then(leave);
    this.outbox.pushLater(op);
    this.setBarrier(op);
  }

  /** Runs `op` now, or once the subscribes and unsubscribes before it have settled. */
  after<T>(op: () => T | Promise<T>): T | Promise<T> {
    return this.barrier === undefined ? op() : this.barrier.then(op);
  }

  /** Leaves at once every channel `allowed` refuses (a refreshed token's); returns their names. */
  narrow(allowed: (channel: string) => boolean): string[] {
    const dropped: string[] = [];
    for (const [channel, membership] of this.members) {
      if (allowed(channel)) continue;
      dropped.push(channel);
      this.members.delete(channel);
      if (membership.state === "joined") this.context.subscriber.unsubscribe(this.outbox, channel);
    }
    return dropped;
  }

  /** Leaves every channel (the socket closed, or the session ends). */
  leaveAll(): void {
    const release = () => {
      for (const [channel, membership] of this.members) {
        if (membership.state === "joined") this.context.subscriber.unsubscribe(this.outbox, channel);
      }
      this.members.clear();
    };
    // A subscribe still in flight takes its bus reference when it settles: release after it.
    if (this.barrier) void this.barrier.then(release);
    else release();
  }

  /** Later commands wait for `op`; once it settled (and nothing newer is pending) they need not. */
  private setBarrier(op: Promise<AnyReply>): void {
    const barrier = op.then(noop);
    this.barrier = barrier;
    void barrier.then(() => {
      if (this.barrier === barrier) this.barrier = undefined;
    });
  }
}

function noop(): void {}
