import { type BackoffOptions, backoffDelay } from "./backoff.js";

/** Reconnect settings; every field has a default. */
export interface ReconnectOptions extends BackoffOptions {
  /** Attempts in a row before giving up (state `closed`). Default: unlimited. */
  readonly maxAttempts: number;
}

export const defaultReconnectOptions: ReconnectOptions = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 10_000,
  maxAttempts: Number.POSITIVE_INFINITY,
});

/** The next reconnect attempt: where, after how long, and which one in a row (from 1). */
export interface ReconnectAttempt {
  readonly url: string;
  readonly delayMs: number;
  readonly attempt: number;
}

/**
 * Chooses where and when to reconnect. Every attempt moves on to the next URL of the list:
 * gateway nodes are interchangeable, and the node that just dropped us is the one most
 * likely to be down.
 */
export class ReconnectPolicy {
  readonly #urls: readonly string[];
  readonly #options: ReconnectOptions | undefined;
  readonly #random: () => number;
  #index = 0;
  #failures = 0;

  /** `options` undefined: never reconnect. */
  constructor(urls: readonly string[], options: ReconnectOptions | undefined, random: () => number) {
    if (urls.length === 0) throw new TypeError("at least one URL is needed");
    this.#urls = urls;
    this.#options = options;
    this.#random = random;
  }

  /** The URL to connect to now. */
  get url(): string {
    return this.#urls[this.#index] as string;
  }

  /** After a lost or failed connection: the next attempt, or undefined when none is left. */
  next(): ReconnectAttempt | undefined {
    const options = this.#options;
    if (options === undefined || this.#failures >= options.maxAttempts) return undefined;
    const delayMs = backoffDelay(this.#failures, options, this.#random);
    this.#failures++;
    this.#index = (this.#index + 1) % this.#urls.length;
    return { url: this.url, delayMs, attempt: this.#failures };
  }

  /** The connection works again: the next loss starts over from the shortest wait. */
  reset(): void {
    this.#failures = 0;
  }
}

/** Close codes 4500–4999 mean "do not reconnect without changing something". */
export function mayReconnect(closeCode: number): boolean {
  return closeCode < 4500 || closeCode > 4999;
}
