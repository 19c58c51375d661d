import { ErrorCode, LimitLabel, type Since } from "@rocket/protocol";
import type { Outbox } from "./outbox.js";
import { type AnyReply, failure, ok, unavailable } from "./replies.js";
import type { SessionContext } from "./session-context.js";

const limitExceeded = failure(ErrorCode.LimitExceeded);

/**
 * A subscribe in flight: a repeat of it gets its outcome, in order after it (never an ok
 * before the subscription is in place). The subscriber holds the channel once it is
 * {@link joined}; only then does leaving give anything back.
 */
class Joining {
  repeats: ((outcome: AnyReply) => void)[] | undefined;
  /** The subscribe succeeded (also when the channel was left meanwhile: leaving gives it back). */
  held = false;
}

/** The subscriber holds the channel (one shared value: an idle subscription costs no object). */
const joined = "joined";

type Membership = Joining | typeof joined;

/**
 * The channels of one session, and the one owner of the order of the commands that depend on
 * them: a subscribe or unsubscribe in flight is the barrier; a publish waits for it (it may
 * depend on the channel that subscribe creates), so does a token's check (narrowing a
 * refreshed token's channels sees every one of them); publishes do not wait for each other.
 * Created with the session's first subscribe.
 */
export class SessionChannels {
  // Most connections hold one channel: it lives in two fields, a Map only holds the others.
  // The field's channel, when set, is older than every one in the Map (iteration keeps the
  // order of subscription).
  private firstName: string | undefined;
  private first: Membership | undefined;
  private others: Map<string, Membership> | undefined;
  /** The last pending subscribe/unsubscribe; later commands that depend on it chain after it. */
  private barrier: Promise<void> | undefined;

  constructor(
    private readonly context: SessionContext,
    private readonly outbox: Outbox,
  ) {}

  /** Subscribes to `channel`, a checked name the grant allows; `trusted` sessions have no cap on channels. */
  subscribe(channel: string, since: Since | undefined, trusted: boolean): void {
    const { outbox } = this;
    const existing = this.get(channel);
    // Subscribing twice is one subscription: a repeat while the first is in flight gets its outcome.
    if (existing instanceof Joining) {
      const repeats = existing.repeats ?? [];
      existing.repeats = repeats;
      return outbox.pushLater(new Promise((resolve) => repeats.push(resolve)));
    }
    if (existing !== undefined) return outbox.push(ok);
    const most = this.context.limits?.subscriptionsPerConnection;
    if (most !== undefined && !trusted && this.size >= most) {
      this.context.hub.counters.limit(LimitLabel.Subscriptions);
      return outbox.push(limitExceeded);
    }
    const joining = new Joining();
    this.set(channel, joining);
    const settle = (outcome: AnyReply): AnyReply => {
      for (const repeat of joining.repeats ?? []) repeat(outcome);
      return outcome;
    };
    // The subscriber writes the ok itself, in the same step as the socket joins the topic.
    const ticket = outbox.reserve();
    const join = (): Promise<AnyReply> =>
      this.context.subscriber.subscribe(outbox, channel, since, ticket).then(
        () => {
          joining.held = true;
          if (this.get(channel) === joining) this.set(channel, joined);
          return settle(ok);
        },
        (err: unknown) => {
          if (this.get(channel) === joining) this.delete(channel);
          this.context.hub.logger.debug({ err, what: "subscribe" }, "bus operation failed");
          outbox.fill(ticket, unavailable);
          return settle(unavailable);
        },
      );
    this.setBarrier(this.barrier === undefined ? join() : this.barrier.then(join));
  }

  /** Leaves `channel` (a checked name); `ok` also when it was never joined. */
  unsubscribe(channel: string): void {
    const membership = this.get(channel);
    if (membership === undefined) return this.outbox.push(ok);
    // Left now: a subscribe after this is a new one, after this unsubscribe.
    this.delete(channel);
    const leave = (): AnyReply => {
      // The subscribe before it has settled by now (the barrier): give back what it took.
      if (membership === joined || membership.held) this.context.subscriber.unsubscribe(this.outbox, channel);
      return ok;
    };
    if (this.barrier === undefined) return this.outbox.push(leave());
    const op = this.barrier.then(leave);
    this.outbox.pushLater(op);
    this.setBarrier(op);
  }

  /** Whether the subscriber holds `channel` for this session: its subscribe succeeded and it was not left since. */
  holds(channel: string): boolean {
    return this.get(channel) === joined;
  }

  /** The subscribes and unsubscribes still in flight, as one promise; undefined when none are. */
  get pending(): Promise<void> | undefined {
    return this.barrier;
  }

  /** Runs `op` now, or once the subscribes and unsubscribes before it have settled. */
  after<T>(op: () => T | Promise<T>): T | Promise<T> {
    return this.barrier === undefined ? op() : this.barrier.then(op);
  }

  /** Leaves at once every channel `allowed` refuses (a refreshed token's); returns their names. */
  narrow(allowed: (channel: string) => boolean): string[] {
    const dropped: string[] = [];
    for (const [channel, membership] of this.entries()) {
      if (allowed(channel)) continue;
      dropped.push(channel);
      this.delete(channel);
      if (membership === joined) this.context.subscriber.unsubscribe(this.outbox, channel);
    }
    return dropped;
  }

  /** Leaves every channel (the socket closed, or the session ends). */
  leaveAll(): void {
    const release = () => {
      for (const [channel, membership] of this.entries()) {
        if (membership === joined) this.context.subscriber.unsubscribe(this.outbox, channel);
      }
      this.firstName = undefined;
      this.first = undefined;
      this.others = undefined;
    };
    // A subscribe still in flight takes its bus reference when it settles: release after it.
    if (this.barrier) void this.barrier.then(release);
    else release();
  }

  private get size(): number {
    return (this.firstName === undefined ? 0 : 1) + (this.others?.size ?? 0);
  }

  private get(channel: string): Membership | undefined {
    return channel === this.firstName ? this.first : this.others?.get(channel);
  }

  private set(channel: string, membership: Membership): void {
    if (channel === this.firstName || (this.firstName === undefined && !this.others?.size)) {
      this.firstName = channel;
      this.first = membership;
    } else {
      this.others ??= new Map();
      this.others.set(channel, membership);
    }
  }

  private delete(channel: string): void {
    if (channel !== this.firstName) this.others?.delete(channel);
    else {
      this.firstName = undefined;
      this.first = undefined;
    }
  }

  /** Every channel and its membership, in subscription order (a copy: the caller may delete). */
  private entries(): [string, Membership][] {
    const all: [string, Membership][] =
      this.first === undefined || this.firstName === undefined ? [] : [[this.firstName, this.first]];
    if (this.others !== undefined) all.push(...this.others);
    return all;
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
