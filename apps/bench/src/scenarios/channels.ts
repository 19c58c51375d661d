import type { ConnSpec } from "../messages.js";
import type { LoadOptions } from "../options.js";
import { type Plan, publishesAt } from "../plan.js";

export const defaultPublishFraction = 0.1;

/** N connections each on its own channel, a fraction publishing to it: per-channel routing cost. */
export function planChannels(options: LoadOptions, urls: readonly string[]): Plan {
  const url = urls[0]!;
  const fraction = options.publishFraction ?? defaultPublishFraction;
  const conns: ConnSpec[] = [];
  let publishers = 0;
  for (let i = 0; i < options.connections; i++) {
    const publish = publishesAt(i, fraction);
    if (publish) publishers++;
    conns.push({ url, channel: `ch-${i}`, subscribe: true, publish });
  }
  return {
    description: `${options.connections} connections each on its own channel, ${publishers} of them publishing to it`,
    conns,
    churn: undefined,
    measureIdle: false,
    workerKind: undefined,
    minWorkers: 1,
  };
}
