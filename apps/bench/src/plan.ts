import type { ChurnSpec, ConnSpec } from "./messages.js";
import type { WorkerKind } from "./worker-pool.js";

/** The load of one scenario: its connections and their roles, independent of who runs them. */
export interface Plan {
  /** One line for reports, e.g. "1000 subscribers on one channel, 1 publisher". */
  readonly description: string;
  readonly conns: readonly ConnSpec[];
  /** Churn over all workers together (rate is the total). */
  readonly churn: ChurnSpec | undefined;
  /** Measure the server's memory per idle connection before publishing. */
  readonly measureIdle: boolean;
  /** A kind the scenario needs (processes for more sockets than one process may hold). */
  readonly workerKind: WorkerKind | undefined;
  readonly minWorkers: number;
}

/** Subscribers per channel, and the channels whose publisher must wait on subscribers in other places. */
export function channelFacts(conns: readonly ConnSpec[]): {
  subscribers: Map<string, number>;
  relayed: Set<string>;
  publishers: number;
} {
  const subscribers = new Map<string, number>();
  const selfOnly = new Map<string, boolean>();
  let publishers = 0;
  for (const c of conns) {
    if (c.subscribe) subscribers.set(c.channel, (subscribers.get(c.channel) ?? 0) + 1);
    if (c.publish) {
      publishers++;
      selfOnly.set(c.channel, c.subscribe);
    }
  }
  const relayed = new Set<string>();
  for (const [channel, publisherSubscribes] of selfOnly) {
    const subs = subscribers.get(channel) ?? 0;
    if (subs > (publisherSubscribes ? 1 : 0)) relayed.add(channel);
  }
  return { subscribers, relayed, publishers };
}

/** True for connection `i` of `n` when `fraction` of them should publish, spread evenly (at least one). */
export function publishesAt(i: number, fraction: number): boolean {
  return Math.floor(i * fraction) !== Math.floor((i - 1) * fraction);
}

/**
 * `count` connections, each subscribed to its own channel (`<prefix><i>`), an evenly spread
 * `fraction` of them also publishing to it; with how many publish.
 */
export function ownChannelConns(
  url: string,
  count: number,
  prefix: string,
  fraction: number,
): { conns: ConnSpec[]; publishers: number } {
  const conns: ConnSpec[] = [];
  let publishers = 0;
  for (let i = 0; i < count; i++) {
    const publish = publishesAt(i, fraction);
    if (publish) publishers++;
    conns.push({ url, channel: `${prefix}${i}`, subscribe: true, publish });
  }
  return { conns, publishers };
}
