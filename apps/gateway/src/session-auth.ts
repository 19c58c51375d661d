import {
  AccessLevel,
  authenticate,
  CloseCode,
  ErrorCode,
  encodeUnsubscribed,
  LimitLabel,
  type SecretAuthCommand,
} from "@rocket/protocol";
import { type Grant, noGrant, secretGrant, TokenGrant } from "./grant.js";
import { AuthMethod, AuthResult } from "./hub.js";
import type { Outbox } from "./outbox.js";
import { failure, ok, unavailable } from "./replies.js";
import type { SessionContext } from "./session-context.js";
import type { TokenCheck } from "./token-verifier.js";

const invalidCredentials = failure(ErrorCode.InvalidCredentials);

/** setTimeout's longest delay; a token living longer is checked again then. */
const maxTimerMs = 2 ** 31 - 1;

/** What the authentication of a session needs of the session. */
export interface AuthHost {
  readonly outbox: Outbox;
  /** Whether the session is ending (disconnect, too many failures, expiry): nothing more happens. */
  readonly ending: boolean;
  /** Later frames wait until {@link release}, so that each sees the access the frames before it left. */
  hold(): void;
  release(): void;
  /** `value`, once the subscribes and unsubscribes before it have settled. */
  afterChannels<T>(value: Promise<T>): Promise<T>;
  /** Leaves at once the channels `allowed` refuses; returns their names. */
  narrowChannels(allowed: (channel: string) => boolean): string[];
  /** Ends the session with `code` after the replies owed; `leave`: its channels stop at once. */
  end(code: CloseCode, reason: string, leave: boolean): void;
}

/**
 * What one session may do and on whose behalf: its grant (from a secret or a token), the
 * token's user and end, and its failed attempts. A token is checked asynchronously while
 * later frames are held; it takes effect once the subscribes and unsubscribes before it have
 * settled.
 */
export class SessionAuth {
  grant: Grant = noGrant;
  /**
   * The user of the first token this connection authenticated with; set once, for the life
   * of the connection: a token for another `sub` is refused.
   */
  private identity: { readonly sub: string | undefined } | undefined;
  /** Ends the connection (4001) when the last accepted token expires. */
  private expiry: NodeJS.Timeout | undefined;
  /** A token is being checked (later frames are held). */
  private checking = false;
  /** The token expired while a refresh was being checked: end unless the refresh is accepted. */
  private expiryDue = false;
  private failures = 0;

  constructor(
    private readonly context: SessionContext,
    private readonly host: AuthHost,
  ) {}

  logout(): void {
    this.grant = noGrant;
    this.host.outbox.push(ok);
  }

  secret(command: SecretAuthCommand): void {
    const { hub } = this.context;
    const level = hub.tokenOnly ? AccessLevel.None : authenticate(hub.secrets, command.access, command.secret);
    if (level === AccessLevel.None) return this.failed(AuthMethod.Secret, ErrorCode.InvalidCredentials);
    this.grant = secretGrant(level);
    // The secret now speaks for the session: a token's end no longer ends it.
    this.stop();
    hub.counters.auth(AuthMethod.Secret, AuthResult.Ok);
    this.host.outbox.push(ok);
  }

  /** Checks a token (signatures, maybe a JWKS fetch) while later frames wait. */
  token(token: string): void {
    const { host } = this;
    const verifier = this.context.tokens;
    if (verifier === undefined) return this.failed(AuthMethod.Token, ErrorCode.InvalidCredentials);
    host.hold();
    this.checking = true;
    const ticket = host.outbox.reserve();
    void host.afterChannels(verifier.verify(token)).then((check) => {
      this.checking = false;
      if (host.outbox.closed) return;
      this.apply(check, ticket);
      if (this.expiryDue) this.expire();
      host.release();
    });
  }

  /** The connection closed. */
  stop(): void {
    clearTimeout(this.expiry);
    this.expiry = undefined;
  }

  private apply(check: TokenCheck, ticket: number): void {
    const { counters, logger } = this.context.hub;
    const { outbox } = this.host;
    if (!check.ok) {
      logger.debug({ reason: check.reason, code: check.code }, "token refused");
      // Keys that could not be fetched judge nothing: the session keeps what it had.
      if (check.code === ErrorCode.Unavailable) return outbox.fill(ticket, unavailable);
      const result = check.code === ErrorCode.TokenExpired ? AuthResult.Expired : AuthResult.Invalid;
      return this.failed(AuthMethod.Token, check.code, ticket, result);
    }
    if (this.identity !== undefined && this.identity.sub !== check.sub) {
      logger.debug({ reason: "another sub than the connection's" }, "token refused");
      return this.failed(AuthMethod.Token, ErrorCode.InvalidCredentials, ticket);
    }
    if (this.identity === undefined && check.sub !== undefined) this.context.audience?.identify(outbox, check.sub);
    this.identity ??= { sub: check.sub };
    const grant = new TokenGrant(check.cap);
    this.grant = grant;
    this.expiryDue = false;
    this.armExpiry(check.expiresAtMs);
    // Channels the new token no longer allows stop at once: nothing of theirs follows the ok.
    const dropped = this.host.narrowChannels((channel) => grant.canSubscribe(channel));
    counters.auth(AuthMethod.Token, AuthResult.Ok);
    outbox.fill(ticket, ok);
    for (const channel of dropped) outbox.pushFrame(encodeUnsubscribed(channel, ErrorCode.AccessDenied));
  }

  /**
   * A refused `auth`: no access afterwards, as with a wrong secret; after `MaxAuthFailures` of
   * them the connection is closed (4501), so that credentials cannot be guessed over one socket.
   */
  private failed(
    method: AuthMethod,
    code: typeof ErrorCode.InvalidCredentials | typeof ErrorCode.TokenExpired,
    ticket?: number,
    result: AuthResult = AuthResult.Invalid,
  ): void {
    const { counters, logger } = this.context.hub;
    const { outbox } = this.host;
    this.grant = noGrant;
    counters.auth(method, result);
    const reply = code === ErrorCode.InvalidCredentials ? invalidCredentials : failure(code);
    if (ticket === undefined) outbox.push(reply);
    else outbox.fill(ticket, reply);
    this.failures += 1;
    const most = this.context.limits?.authFailures;
    if (most !== undefined && this.failures >= most && !this.host.ending) {
      counters.limit(LimitLabel.AuthFailures);
      logger.info({ failures: this.failures }, "too many failed auth attempts: closing with 4501");
      this.host.end(CloseCode.TooManyAuthFailures, "too many failed auth attempts", false);
    }
  }

  private armExpiry(atMs: number): void {
    clearTimeout(this.expiry);
    const delay = Math.min(Math.max(atMs - Date.now(), 0), maxTimerMs);
    this.expiry = setTimeout(() => {
      if (Date.now() < atMs) return this.armExpiry(atMs);
      if (this.checking) this.expiryDue = true;
      else this.expire();
    }, delay);
    this.expiry.unref();
  }

  /** The token expired unrefreshed: deliveries stop now, the connection ends (4001) after the replies owed. */
  private expire(): void {
    if (this.host.ending || this.host.outbox.closed) return;
    this.expiryDue = false;
    this.context.hub.logger.debug("token expired: closing with 4001");
    this.grant = noGrant;
    this.host.end(CloseCode.TokenExpired, "token expired", true);
  }
}
