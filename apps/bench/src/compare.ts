import { randomBytes } from "node:crypto";
import type { LoadOptions, ScenarioName, Target } from "./options.js";
import type { Progress } from "./progress.js";
import type { RunResult } from "./results.js";
import { runPlan } from "./runner.js";
import { planScenario, serversNeeded } from "./scenarios/index.js";
import { type ServerKind, startServers } from "./servers.js";

export interface CompareOptions {
  readonly scenario: ScenarioName;
  readonly load: LoadOptions;
  readonly rocketBin: string;
  readonly hub: string;
  /** Rocket and the baseline alternate this many times (R, B, R, B, ...). */
  readonly rounds: number;
  /** Each side in cluster mode with its own fresh redis-server (cross always is). */
  readonly withRedis: boolean;
  /** CPUs the servers are pinned to (taskset), if any. */
  readonly serverCpus: string | undefined;
  /** Compare Rocket with History (this Size) on every channel against Rocket without, instead of the baseline. */
  readonly historySize?: number | undefined;
  /** Compare Rocket with publishers POSTing to its HTTP API against Rocket with publishers on WebSockets. */
  readonly httpPublish?: boolean | undefined;
  /** Rocket's token secret: the started gateways take it, and every client presents `token`. */
  readonly tokenSecret?: string | undefined;
  /** A token signed with `tokenSecret`. */
  readonly token?: string | undefined;
  /** Registers a stop function for servers that are running (so a signal can stop them); returns its removal. */
  readonly track: (stop: () => Promise<void>) => () => void;
}

/** One side of a comparison: what to start, and its name in reports. */
interface Side {
  readonly kind: ServerKind;
  readonly label: string;
  readonly historySize: number | undefined;
  readonly httpPublish: boolean;
}

/** The API key of the gateways a comparison starts (every run the same configuration). */
const apiKey = randomBytes(18).toString("hex");

/**
 * Rocket, then the baseline (with `historySize`: Rocket with history on every channel, then
 * Rocket without; with `httpPublish`: Rocket with publishers on its HTTP API, then on WebSockets), back to back in one invocation, `rounds` times over (R, B, R, B, ...: a
 * machine that drifts during the run shifts both sides alike). Each run gets fresh servers
 * on free loopback ports (and a fresh Redis in cluster mode), is measured with the same
 * load, and is stopped before the next starts. Results come in that order; with more than
 * one round each carries its round number.
 */
export async function compare(options: CompareOptions, progress: Progress): Promise<RunResult[]> {
  const { historySize } = options;
  const plain = { kind: "rocket", label: "rocket", historySize: undefined, httpPublish: false } as const;
  const sides: Side[] = options.httpPublish
    ? [{ ...plain, label: "rocket+http", httpPublish: true }, plain]
    : historySize === undefined
      ? [plain, { kind: "baseline", label: "baseline", historySize: undefined, httpPublish: false }]
      : [{ ...plain, label: "rocket+history", historySize }, plain];
  const results: RunResult[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const side of sides) {
      if (options.rounds > 1) progress.log(`round ${round} of ${options.rounds}: ${side.label}`);
      const result = await runOne(side, options, progress);
      results.push(options.rounds > 1 ? { ...result, round } : result);
    }
  }
  return results;
}

async function runOne(side: Side, options: CompareOptions, progress: Progress): Promise<RunResult> {
  const { kind, label } = side;
  const nodes = serversNeeded(options.scenario);
  const cluster = options.scenario === "cross" || options.withRedis;
  progress.update(`starting ${label}${cluster ? ` (${nodes} node${nodes > 1 ? "s" : ""} + Redis)` : ""}`);
  let servers: Awaited<ReturnType<typeof startServers>>;
  try {
    servers = await startServers({
      kind,
      nodes,
      redis: cluster,
      rocketBin: options.rocketBin,
      hub: options.hub,
      cpus: options.serverCpus,
      historySize: side.historySize,
      tokenSecret: options.tokenSecret,
      apiKey: kind === "rocket" ? apiKey : undefined,
    });
  } catch (err) {
    const message = (err as Error).message;
    progress.log(`${label}: could not start: ${message.split("\n").slice(0, 6).join("\n  ")}`);
    return failedRun(label, options, message);
  }
  const untrack = options.track(() => servers.stop());
  try {
    const target: Target = {
      label,
      urls: servers.urls,
      serverPids: servers.pids,
      redisPid: servers.redisPid,
      secret: servers.secret,
      readSecret: "",
      token: options.token,
      httpPublish: side.httpPublish ? { url: undefined, apiKey } : undefined,
    };
    progress.log(
      `${label}: ${servers.urls.join(", ")} (pid ${servers.pids.join(", ")}${servers.redisPid ? `, redis ${servers.redisPid}` : ""})`,
    );
    const plan = planScenario(options.scenario, options.load, servers.urls);
    return await runPlan(options.scenario, plan, options.load, target, progress);
  } finally {
    await servers.stop();
    untrack();
  }
}

function failedRun(label: string, options: CompareOptions, error: string): RunResult {
  return {
    scenario: options.scenario,
    target: label,
    description: planScenario(options.scenario, options.load, ["ws://127.0.0.1:1/", "ws://127.0.0.1:2/"]).description,
    urls: [],
    payloadBytes: options.load.payloadBytes,
    workers: 0,
    workerKind: "-",
    connections: { requested: 0, opened: 0, failed: 0, firstError: undefined, openMs: 0, perSec: 0 },
    idle: undefined,
    phases: [],
    error: error.split("\n").find((l) => /not available|error|Error/.test(l)) ?? error.split("\n")[0] ?? error,
  };
}
