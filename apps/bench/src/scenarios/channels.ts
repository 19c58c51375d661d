import type { LoadOptions } from "../options.js";
import { ownChannelConns, type Plan } from "../plan.js";
import { firstUrl } from "./urls.js";

export const defaultPublishFraction = 0.1;

/** N connections each on its own channel, a fraction publishing to it: per-channel routing cost. */
export function planChannels(options: LoadOptions, urls: readonly string[]): Plan {
  const fraction = options.publishFraction ?? defaultPublishFraction;
  const { conns, publishers } = ownChannelConns(firstUrl(urls), options.connections, "ch-", fraction);
  return {
    description: `${options.connections} connections each on its own channel, ${publishers} of them publishing to it`,
    conns,
    churn: undefined,
    measureIdle: false,
    workerKind: undefined,
    minWorkers: 1,
  };
}
