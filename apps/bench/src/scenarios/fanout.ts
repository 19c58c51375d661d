import type { ConnSpec } from "../messages.js";
import type { LoadOptions } from "../options.js";
import type { Plan } from "../plan.js";
import { firstUrl } from "./urls.js";

/** S subscribers on one channel, one publisher on the same node: the C++ fan-out path. */
export function planFanout(options: LoadOptions, urls: readonly string[]): Plan {
  const url = firstUrl(urls);
  const channel = "fanout";
  const conns: ConnSpec[] = [{ url, channel, subscribe: false, publish: true }];
  for (let i = 0; i < options.subscribers; i++) conns.push({ url, channel, subscribe: true, publish: false });
  return {
    description: `${options.subscribers} subscribers on one channel, 1 publisher`,
    conns,
    churn: undefined,
    measureIdle: false,
    workerKind: undefined,
    minWorkers: 1,
  };
}
