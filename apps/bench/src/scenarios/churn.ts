import type { ConnSpec } from "../messages.js";
import type { LoadOptions } from "../options.js";
import type { Plan } from "../plan.js";
import { firstUrl } from "./urls.js";

/**
 * A reconnect storm next to a fan-out: S steady subscribers and a publisher on one
 * channel while clients connect, subscribe to it and disconnect at a fixed rate.
 */
export function planChurn(options: LoadOptions, urls: readonly string[]): Plan {
  const url = firstUrl(urls);
  const channel = "churn";
  const conns: ConnSpec[] = [{ url, channel, subscribe: false, publish: true }];
  for (let i = 0; i < options.subscribers; i++) conns.push({ url, channel, subscribe: true, publish: false });
  return {
    description:
      `${options.subscribers} steady subscribers and 1 publisher on one channel, ` +
      `${options.churnPerSec} connect-subscribe-disconnect cycles/s (held ${options.churnHoldMs} ms)`,
    conns,
    churn: { url, channel, ratePerSec: options.churnPerSec, holdMs: options.churnHoldMs },
    measureIdle: false,
    workerKind: undefined,
    minWorkers: 1,
  };
}
