/** How long to wait between reconnect attempts. */
export interface BackoffOptions {
  /** The first wait's upper bound, ms. */
  readonly initialDelayMs: number;
  /** No wait is longer than this, ms. */
  readonly maxDelayMs: number;
}

/**
 * Exponential backoff with full jitter: a wait drawn uniformly from
 * `[0, min(maxDelayMs, initialDelayMs · 2^attempt))`. Clients dropped together (a node
 * restarts) then spread their reconnects over the window instead of arriving in waves
 * ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015).
 *
 * `attempt` counts from 0; `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(Math.max(attempt, 0), 40));
  return Math.floor(random() * ceiling);
}
