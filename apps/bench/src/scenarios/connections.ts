import type { LoadOptions } from "../options.js";
import { ownChannelConns, type Plan } from "../plan.js";
import { firstUrl } from "./urls.js";

export const defaultIdlePublishFraction = 0.01;
/** Sockets one load process holds at most: the per-process open-file limit is 20,000 here. */
const socketsPerProcess = 8000;

/**
 * N idle subscribed connections (each on its own channel): time to open them and the
 * server's memory per connection, then a light publish load over all of them. Runs its
 * clients in processes, each under the open-file limit.
 */
export function planConnections(options: LoadOptions, urls: readonly string[]): Plan {
  const fraction = options.publishFraction ?? defaultIdlePublishFraction;
  const { conns, publishers } = ownChannelConns(firstUrl(urls), options.connections, "idle-", fraction);
  return {
    description: `${options.connections} idle connections each subscribed to its own channel, then ${publishers} publishing`,
    conns,
    churn: undefined,
    measureIdle: true,
    workerKind: "process",
    minWorkers: Math.ceil(options.connections / socketsPerProcess),
  };
}
