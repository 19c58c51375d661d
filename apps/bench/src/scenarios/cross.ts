import type { ConnSpec } from "../messages.js";
import type { LoadOptions } from "../options.js";
import type { Plan } from "../plan.js";

/** Fan-out across the cluster: subscribers on node A, the publisher on node B, so every message crosses Redis. */
export function planCross(options: LoadOptions, urls: readonly string[]): Plan {
  if (urls.length < 2) throw new Error("cross needs two servers of one cluster: give --url twice (node A, node B)");
  const [a, b] = urls as [string, string];
  const channel = "cross";
  const conns: ConnSpec[] = [{ url: b, channel, subscribe: false, publish: true }];
  for (let i = 0; i < options.subscribers; i++) conns.push({ url: a, channel, subscribe: true, publish: false });
  return {
    description: `${options.subscribers} subscribers on node A, 1 publisher on node B, one channel`,
    conns,
    churn: undefined,
    measureIdle: false,
    workerKind: undefined,
    minWorkers: 1,
  };
}
