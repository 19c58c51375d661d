import type { WorkerKind } from "./worker-pool.js";

export const scenarioNames = ["fanout", "channels", "connections", "cross", "churn"] as const;
export type ScenarioName = (typeof scenarioNames)[number];

/** Everything that shapes a run's load; units in the names. */
export interface LoadOptions {
  /** Subscribers of the one channel (fanout, cross, churn). */
  readonly subscribers: number;
  /** Connections, each on its own channel (channels, connections). */
  readonly connections: number;
  /** Share of those connections that also publish (channels, connections). */
  readonly publishFraction: number | undefined;
  /** Fixed total publish rate; undefined runs a peak phase, then one at half its rate. */
  readonly ratePerSec: number | undefined;
  /** Length of each publish's `data` JSON. */
  readonly payloadBytes: number;
  readonly durationSec: number;
  readonly warmupSec: number;
  /** Connect–subscribe–disconnect cycles per second (churn). */
  readonly churnPerSec: number;
  /** How long each churning client stays subscribed. */
  readonly churnHoldMs: number;
  readonly workers: number | undefined;
  readonly workerKind: WorkerKind | undefined;
  /** Source addresses for client sockets; "auto" spreads large runs on loopback over 127.0.0.2–9. */
  readonly sourceAddresses: readonly string[] | "auto";
  /** Connections each worker opens at a time. */
  readonly connectConcurrency: number;
  /** Messages a publisher may run ahead of the slowest subscriber; undefined picks one from the payload size. */
  readonly window: number | undefined;
  /** Pause between opening the idle connections and reading the server's memory (connections). */
  readonly settleSec: number;
  readonly drainTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

/** How to reach the server(s) under test. */
export interface Target {
  /** Name in reports ("rocket", "baseline", or the user's). */
  readonly label: string;
  /** WebSocket URLs with the hub path: node A first (cross publishes on node B). */
  readonly urls: readonly string[];
  /** Server processes to sample for CPU and memory (same order as `urls`). */
  readonly serverPids: readonly number[];
  readonly redisPid: number | undefined;
  readonly secret: string;
  readonly readSecret: string;
  /** Set: every connection authenticates with this token instead of the secrets. */
  readonly token?: string | undefined;
  /** Set (`--http-publish`): publishers POST to the HTTP API with this key (and at this URL, else their own node's). */
  readonly httpPublish?: { readonly url: string | undefined; readonly apiKey: string } | undefined;
}
