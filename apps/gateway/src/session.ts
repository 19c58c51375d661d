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
  encodePresenceReply,
  encodeUnsubscribed,
  type HistoryCommand,
  isReservedEvent,
  LimitLabel,
  type PresenceCommand,
  type PublishCommand,
  RateLimitLabel,
  type Reply,
  type SecretAuthCommand,
  type Since,
} from "@rocket/protocol";
import type { SessionAudience } from "./audience.js";
import { type Grant, noGrant, secretGrant, TokenGrant } from "./grant.js";
import type { HistoryReader } from "./history-reader.js";
import { AuthMethod, AuthResult, type Hub } from "./hub.js";
import type { Outbox } from "./outbox.js";
import type { PresenceReader } from "./presence-reader.js";
import type { Publisher, ReplyResult } from "./publisher.js";
import { ConnectionRates, type SessionLimits } from "./rate-limits.js";
import { type AnyReply, accessDenied, encoded, failure, ok, unavailable } from "./replies.js";
import type { Subscriber } from "./subscriber.js";
import type { TokenCheck, TokenVerifier } from "./token-verifier.js";

/** What the sessions of one hub share (one object per hub, not per connection). */
export interface SessionContext {
  readonly hub: Hub;
  readonly publisher: Publisher;
  readonly subscriber: Subscriber;
  /** Reads a channel's history for the `history` command. */
  readonly history: HistoryReader;
  readonly decodeOptions: DecodeOptions;
  /** Checks the hub's tokens; undefined: the hub takes none (token auth is invalid_credentials). */
  readonly tokens?: TokenVerifier | undefined;
  /** Per-connection abuse limits; undefined: none. */
  readonly limits?: SessionLimits | undefined;
  /** Reads a channel's users for the `presence` command; undefined: every channel has none. */
  readonly presence?: PresenceReader | undefined;
  /** Learns which connections are whose (presence, disconnecting a user); undefined: nobody listens. */
  readonly audience?: SessionAudience | undefined;
}

const invalidCredentials = failure(ErrorCode.InvalidCredentials);
const invalidChannelName = failure(ErrorCode.InvalidChannelName);
const invalidData = failure(ErrorCode.InvalidData);
const rateLimited = failure(ErrorCode.RateLimited);
const limitExceeded = failure(ErrorCode.LimitExceeded);
/** `{"ok":true,"users":[]}` */
const noUsers = encoded(encodePresenceReply([]));

/** setTimeout's longest delay; a token living longer is checked again then. */
const maxTimerMs = 2 ** 31 - 1;

/** A frame waiting for a token check to finish: its command, or the reply it already has. */
type Held = Command | Reply;

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
 * One client connection's protocol state: its grant and channels. Frames enter here; commands
 * take effect in the order they arrive and their replies leave in that order (the outbox
 * keeps it); only bus I/O is asynchronous. A publish waits for an earlier
 * subscribe/unsubscribe of the same session (it may depend on the channel that subscribe
 * creates); publishes do not wait for each other, they are handed to the bus in order.
 */
export class Session {
  private grant: Grant = noGrant;
  /**
   * The user of the first token this connection authenticated with; set once, for the life
   * of the connection: a token for another `sub` is refused.
   */
  private identity: { readonly sub: string | undefined } | undefined;
  /** Ends the connection (4001) when the last accepted token expires. */
  private expiry: NodeJS.Timeout | undefined;
  /** The token expired while a refresh was being checked: end unless the refresh is accepted. */
  private expiryDue = false;
  /**
   * While a token is checked (asynchronously), later frames wait here, so that each command
   * sees the access every command before it left, as with a secret.
   */
  private held: Held[] | undefined;
  private authFailures = 0;
  /** Created when the hub has limits. */
  private readonly rates: ConnectionRates | undefined;
  /** Created with the first subscription. */
  private channels: Map<string, Membership> | undefined;
  /** The last pending subscribe/unsubscribe; later commands that depend on it chain after it. */
  private barrier: Promise<void> | undefined;
  /** `disconnect` was asked for: later frames are ignored. */
  private disconnecting = false;

  constructor(
    private readonly context: SessionContext,
    /** Where this session's replies go; the socket handlers bracket each frame in its handler calls. */
    readonly outbox: Outbox,
  ) {
    const { limits } = context;
    this.rates = limits === undefined ? undefined : new ConnectionRates(limits, performance.now());
  }

  /** Handles one client frame. */
  receive(frame: ArrayBuffer | Uint8Array | string): void {
    if (this.disconnecting || this.outbox.closed) return;
    const { counters } = this.context.hub;
    // The read-write secret is the application's own backend: no per-connection limits.
    const rates = this.grant.trusted ? undefined : this.rates;
    const now = rates === undefined ? 0 : performance.now();
    if (rates !== undefined && !rates.commands.take(now)) return this.refuse(RateLimitLabel.Commands, now);
    const command = decode(frame, this.context.decodeOptions);
    if (command.type === "error") {
      counters.frame("invalid");
      if (command.reason === "depth") counters.limit(LimitLabel.Depth);
      this.reply(failure(command.code));
      return;
    }
    counters.frame(command.type);
    if (rates !== undefined && command.type === "publish" && !rates.publishes.take(now)) {
      return this.refuse(RateLimitLabel.Publishes, now);
    }
    if (this.held !== undefined) this.held.push(command);
    else this.handle(command);
  }

  /** The socket closed (and its outbox with it): drops every subscription. Call once. */
  close(): void {
    this.context.audience?.closed(this.outbox);
    clearTimeout(this.expiry);
    this.held = undefined;
    this.leaveAll();
  }

  /** Unsubscribes from every channel. */
  private leaveAll(): void {
    const release = () => {
      for (const [channel, membership] of this.channels ?? []) {
        if (membership.state === "joined") this.context.subscriber.unsubscribe(this.outbox, channel);
      }
      this.channels = undefined;
    };
    // A subscribe still in flight takes its bus reference when it settles: release after it.
    if (this.barrier) void this.barrier.then(release);
    else release();
  }

  private handle(command: Command): void {
    switch (command.type) {
      case "auth":
        if ("token" in command) this.authToken(command.token);
        else this.authSecret(command);
        return;
      case "logout":
        this.grant = noGrant;
        this.outbox.push(ok);
        return;
      case "subscribe":
        this.subscribe(command.channel, command.since);
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
      case "history":
        this.history(command);
        return;
      case "presence":
        this.presence(command);
        return;
      default:
        assertNever(command);
    }
  }

  private subscribe(rawChannel: unknown, since: Since | undefined): void {
    if (!this.grant.canSubscribe(typeof rawChannel === "string" ? rawChannel : "")) return this.outbox.push(accessDenied);
    const channel = checkChannelName(rawChannel);
    if (channel === ErrorCode.InvalidChannelName) return this.rejectName(rawChannel);
    const existing = this.channels?.get(channel);
    // Subscribing twice is one subscription: a repeat while the first is in flight gets its
    // outcome, never an ok before the subscription is in place.
    if (existing?.state === "joining") return this.replyLater(existing.repeat);
    if (existing !== undefined) return this.outbox.push(ok);
    const most = this.context.limits?.subscriptionsPerConnection;
    if (most !== undefined && !this.grant.trusted && (this.channels?.size ?? 0) >= most) {
      this.context.hub.counters.limit(LimitLabel.Subscriptions);
      return this.outbox.push(limitExceeded);
    }
    let settled: (repeat: AnyReply) => void = noop;
    const membership: Membership = { state: "joining", repeat: new Promise((resolve) => (settled = resolve)) };
    this.channels ??= new Map();
    this.channels.set(channel, membership);
    // The subscriber writes the ok itself, in the same step as the socket joins the topic.
    const ticket = this.outbox.reserve();
    const op = this.afterBarrier(() =>
      this.context.subscriber.subscribe(this.outbox, channel, since, ticket).then(
        () => {
          membership.state = "joined";
          settled(ok);
          return ok;
        },
        (err: unknown) => {
          if (this.channels?.get(channel) === membership) this.channels.delete(channel);
          this.context.hub.logger.debug({ err, what: "subscribe" }, "bus operation failed");
          settled(unavailable);
          this.outbox.fill(ticket, unavailable);
          return unavailable;
        },
      ),
    );
    this.setBarrier(op);
  }

  private unsubscribe(rawChannel: unknown): void {
    const channel = checkChannelName(rawChannel);
    if (channel === ErrorCode.InvalidChannelName) return this.outbox.push(ok);
    const membership = this.channels?.get(channel);
    if (membership === undefined) return this.outbox.push(ok);
    // Left now: a subscribe after this is a new one, after this unsubscribe.
    this.channels?.delete(channel);
    const leave = (): Reply => {
      // The subscribe before it has settled by now (the barrier): give back what it took.
      if (membership.state === "joined") this.context.subscriber.unsubscribe(this.outbox, channel);
      return ok;
    };
    if (this.barrier === undefined) return this.outbox.push(leave());
    const op = this.afterBarrier(async () => leave());
    this.replyLater(op);
    this.setBarrier(op);
  }

  private publish(command: PublishCommand): void {
    // Events named `__…` are the server's (`__unsubscribed`, `__join`); webrocket's secret
    // sessions keep publishing them, except on channels with Presence, where they would pass for the server's.
    if (isReservedEvent(command.event) && (this.grant.kind === "token" || this.context.hub.presence(command.channel))) {
      return this.outbox.push(invalidData);
    }
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

  private history(command: HistoryCommand): void {
    const raw = command.channel;
    if (!this.grant.canHistory(typeof raw === "string" ? raw : "")) return this.outbox.push(accessDenied);
    const channel = checkChannelName(raw);
    if (channel === ErrorCode.InvalidChannelName) return this.rejectName(raw);
    const read = this.context.history(channel, command.limit, command.since).catch((err: unknown) => {
      this.context.hub.logger.debug({ err, what: "history" }, "bus operation failed");
      return unavailable;
    });
    this.replyLater(read);
  }

  private presence(command: PresenceCommand): void {
    const raw = command.channel;
    if (!this.grant.canPresence(typeof raw === "string" ? raw : "")) return this.outbox.push(accessDenied);
    const channel = checkChannelName(raw);
    if (channel === ErrorCode.InvalidChannelName) return this.rejectName(raw);
    const reader = this.context.presence;
    if (reader === undefined) return this.outbox.push(noUsers);
    const read = reader(channel).catch((err: unknown) => {
      this.context.hub.logger.debug({ err, what: "presence" }, "bus operation failed");
      return unavailable;
    });
    this.replyLater(read);
  }

  private authSecret(command: SecretAuthCommand): void {
    const { hub } = this.context;
    const level = hub.tokenOnly ? AccessLevel.None : authenticate(hub.secrets, command.access, command.secret);
    if (level === AccessLevel.None) return this.authFailed(AuthMethod.Secret, ErrorCode.InvalidCredentials);
    this.grant = secretGrant(level);
    // The secret now speaks for the session: a token's end no longer ends it.
    clearTimeout(this.expiry);
    this.expiry = undefined;
    hub.counters.auth(AuthMethod.Secret, AuthResult.Ok);
    this.outbox.push(ok);
  }

  /**
   * Checks a token (asynchronously: signatures, maybe a JWKS fetch) while later frames wait in
   * `held`; it takes effect once the subscribes and unsubscribes before it have settled, so
   * that narrowing a refreshed token's channels sees every one of them.
   */
  private authToken(token: string): void {
    const verifier = this.context.tokens;
    if (verifier === undefined) return this.authFailed(AuthMethod.Token, ErrorCode.InvalidCredentials);
    this.held = [];
    const ticket = this.outbox.reserve();
    const checked = verifier.verify(token);
    const settled = this.barrier === undefined ? checked : this.barrier.then(() => checked);
    void settled.then((check) => {
      if (this.outbox.closed) return;
      this.applyToken(check, ticket);
      if (this.expiryDue) this.expire();
      this.releaseHeld();
    });
  }

  private applyToken(check: TokenCheck, ticket: number): void {
    const { counters, logger } = this.context.hub;
    if (!check.ok) {
      logger.debug({ reason: check.reason, code: check.code }, "token refused");
      // Keys that could not be fetched judge nothing: the session keeps what it had.
      if (check.code === ErrorCode.Unavailable) return this.outbox.fill(ticket, unavailable);
      const result = check.code === ErrorCode.TokenExpired ? AuthResult.Expired : AuthResult.Invalid;
      return this.authFailed(AuthMethod.Token, check.code, ticket, result);
    }
    if (this.identity !== undefined && this.identity.sub !== check.sub) {
      logger.debug({ reason: "another sub than the connection's" }, "token refused");
      return this.authFailed(AuthMethod.Token, ErrorCode.InvalidCredentials, ticket);
    }
    if (this.identity === undefined && check.sub !== undefined) this.context.audience?.identify(this.outbox, check.sub);
    this.identity ??= { sub: check.sub };
    const grant = new TokenGrant(check.cap);
    this.grant = grant;
    this.expiryDue = false;
    this.armExpiry(check.expiresAtMs);
    // Channels the new token no longer allows stop at once: nothing of theirs follows the ok.
    const dropped: string[] = [];
    for (const [channel, membership] of this.channels ?? []) {
      if (grant.canSubscribe(channel)) continue;
      dropped.push(channel);
      this.channels?.delete(channel);
      if (membership.state === "joined") this.context.subscriber.unsubscribe(this.outbox, channel);
    }
    counters.auth(AuthMethod.Token, AuthResult.Ok);
    this.outbox.fill(ticket, ok);
    for (const channel of dropped) this.outbox.pushFrame(encodeUnsubscribed(channel, ErrorCode.AccessDenied));
  }

  /**
   * A refused `auth`: no access afterwards, as with a wrong secret; after `MaxAuthFailures` of
   * them the connection is closed (4501), so that credentials cannot be guessed over one socket.
   */
  private authFailed(
    method: AuthMethod,
    code: typeof ErrorCode.InvalidCredentials | typeof ErrorCode.TokenExpired,
    ticket?: number,
    result: AuthResult = AuthResult.Invalid,
  ): void {
    const { counters, logger } = this.context.hub;
    this.grant = noGrant;
    counters.auth(method, result);
    const reply = code === ErrorCode.InvalidCredentials ? invalidCredentials : failure(code);
    if (ticket === undefined) this.outbox.push(reply);
    else this.outbox.fill(ticket, reply);
    this.authFailures += 1;
    const most = this.context.limits?.authFailures;
    if (most !== undefined && this.authFailures >= most && !this.disconnecting) {
      counters.limit(LimitLabel.AuthFailures);
      logger.info({ failures: this.authFailures }, "too many failed auth attempts: closing with 4501");
      this.disconnecting = true;
      this.outbox.endAfterReplies(CloseCode.TooManyAuthFailures, "too many failed auth attempts");
    }
  }

  private armExpiry(atMs: number): void {
    clearTimeout(this.expiry);
    const delay = Math.min(Math.max(atMs - Date.now(), 0), maxTimerMs);
    this.expiry = setTimeout(() => {
      if (Date.now() < atMs) return this.armExpiry(atMs);
      if (this.held !== undefined) this.expiryDue = true;
      else this.expire();
    }, delay);
    this.expiry.unref();
  }

  /** The token expired unrefreshed: deliveries stop now, the connection ends (4001) after the replies owed. */
  private expire(): void {
    if (this.disconnecting || this.outbox.closed) return;
    this.expiryDue = false;
    this.context.hub.logger.debug("token expired: closing with 4001");
    this.grant = noGrant;
    this.disconnecting = true;
    this.leaveAll();
    this.outbox.endAfterReplies(CloseCode.TokenExpired, "token expired");
  }

  /** Runs the frames that waited for a token check, in order, until one holds them again. */
  private releaseHeld(): void {
    const held = this.held;
    this.held = undefined;
    if (held === undefined) return;
    for (let i = 0; i < held.length; i++) {
      if (this.disconnecting || this.outbox.closed) return;
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
      this.disconnecting = true;
      this.outbox.endAfterReplies(CloseCode.RateLimitExceeded, "rate limit far exceeded");
    }
  }

  /** Later commands wait for `op`; once it settled (and nothing newer is pending) they need not. */
  private setBarrier(op: Promise<AnyReply>): void {
    const barrier = op.then(noop);
    this.barrier = barrier;
    void barrier.then(() => {
      if (this.barrier === barrier) this.barrier = undefined;
    });
  }

  private afterBarrier(op: () => Promise<AnyReply>): Promise<AnyReply> {
    return this.barrier === undefined ? op() : this.barrier.then(op);
  }

  private replyLater(op: Promise<AnyReply>): void {
    const ticket = this.outbox.reserve();
    void op.then((reply) => this.outbox.fill(ticket, reply));
  }

  private rejectName(raw: unknown): void {
    if (typeof raw === "string" && raw.length > 0) this.context.hub.counters.limit(LimitLabel.ChannelName);
    this.outbox.push(invalidChannelName);
  }
}

function noop(): void {}
