import { encodeCommand, type Reply } from "@rocket/protocol";
import { ClientErrorCode, RocketError } from "./errors.js";
import type { Credentials } from "./frames.js";
import type { ResolvedOptions } from "./options.js";
import { refreshLeadMs, tokenExpiry } from "./token.js";

/** A token as the credentials presented on every connection. */
export interface TokenCredentials {
  readonly token: string;
}

/** What keeping the credentials needs of the connection. */
export interface TokenHost {
  /** The client is closed or closing: nothing more is fetched or sent. */
  readonly closing: boolean;
  /** The session is restored: a refreshed token can be presented at once. */
  readonly ready: boolean;
  /** Connects (again) with the credentials now held. */
  connect(): void;
  /** Fetching a token failed: the attempt counts as a lost connection. */
  failed(reason: string): void;
  report(error: RocketError): void;
  request(frame: string, onReply: (reply: Reply) => void): Promise<void>;
}

/**
 * The credentials a connection presents: a secret, or a token that `getToken` provides,
 * fetched before connecting when there is none (or it was refused, or is about to expire)
 * and refreshed shortly before it expires, keeping the session and its channels.
 */
export class TokenKeeper {
  /** The credentials the server last accepted (or the configured ones): presented on every new connection. */
  credentials: Credentials | TokenCredentials | undefined;
  /** A new token must be fetched (`getToken`) before the next connection. */
  stale: boolean;
  readonly #getToken: (() => Promise<string>) | undefined;
  readonly #host: TokenHost;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ResolvedOptions, host: TokenHost) {
    const { auth, token, getToken } = options;
    this.credentials = auth ?? (token === undefined ? undefined : { token });
    this.stale = getToken !== undefined && token === undefined;
    this.#getToken = getToken;
    this.#host = host;
  }

  get usesToken(): boolean {
    return this.credentials !== undefined && "token" in this.credentials;
  }

  /** The server accepted `credentials` (a secret): a token's refresh is no longer needed. */
  acceptedSecret(credentials: Credentials): void {
    this.credentials = credentials;
    this.stop();
  }

  /** Whether a token must be fetched before connecting: none yet, refused, or about to expire. */
  needsToken(): boolean {
    if (this.#getToken === undefined) return false;
    if (this.stale) return true;
    const credentials = this.credentials;
    if (credentials === undefined || !("token" in credentials)) return false;
    const expiresAt = tokenExpiry(credentials.token);
    return expiresAt !== undefined && expiresAt - Date.now() < 1000;
  }

  /** Fetches a token, then connects. */
  fetch(): void {
    const getToken = this.#getToken;
    if (getToken === undefined) return;
    const host = this.#host;
    getToken().then(
      (token) => {
        if (host.closing) return;
        this.credentials = { token };
        this.stale = false;
        host.connect();
      },
      (cause: unknown) => {
        if (host.closing) return;
        host.report(new RocketError(ClientErrorCode.TokenUnavailable, "getToken failed", { cause }));
        host.failed("getToken failed");
      },
    );
  }

  /** Presents a fresh token shortly before this one expires, keeping the session and its channels. */
  scheduleRefresh(token: string): void {
    this.stop();
    const getToken = this.#getToken;
    const expiresAt = tokenExpiry(token);
    if (getToken === undefined || expiresAt === undefined) return;
    const now = Date.now();
    this.#refreshTimer = setTimeout(() => this.#refresh(getToken), Math.max(0, expiresAt - refreshLeadMs(expiresAt, now) - now));
  }

  stop(): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
  }

  #refresh(getToken: () => Promise<string>): void {
    const host = this.#host;
    getToken().then(
      (token) => {
        if (host.closing) return;
        this.credentials = { token };
        // Not connected: the next connection presents it.
        if (!host.ready) return;
        host
          .request(encodeCommand({ type: "auth", token }), (reply) => {
            if ("ok" in reply) this.scheduleRefresh(token);
            else this.stale = true;
          })
          .catch((error: RocketError) => host.report(error));
      },
      (cause: unknown) => {
        if (host.closing) return;
        host.report(new RocketError(ClientErrorCode.TokenUnavailable, "getToken failed", { cause }));
        // Try again soon; past the expiry the server closes (4001) and reconnecting fetches one.
        this.#refreshTimer = setTimeout(() => this.#refresh(getToken), 1000);
      },
    );
  }
}
