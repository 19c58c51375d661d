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
  /** CPUs the servers are pinned to (taskset), if any. */
  readonly serverCpus: string | undefined;
  /** Registers a stop function for servers that are running (so a signal can stop them); returns its removal. */
  readonly track: (stop: () => Promise<void>) => () => void;
}

/**
 * Rocket, then the baseline, back to back in one invocation: each side gets fresh servers
 * on free loopback ports (and a fresh Redis for cross), is measured with the same load,
 * and is stopped before the other starts.
 */
export async function compare(options: CompareOptions, progress: Progress): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const kind of ["rocket", "baseline"] as ServerKind[]) {
    results.push(await runOne(kind, options, progress));
  }
  return results;
}

async function runOne(kind: ServerKind, options: CompareOptions, progress: Progress): Promise<RunResult> {
  const nodes = serversNeeded(options.scenario);
  const cluster = options.scenario === "cross";
  progress.update(`starting ${kind}${cluster ? ` (${nodes} nodes + Redis)` : ""}`);
  let servers: Awaited<ReturnType<typeof startServers>>;
  try {
    servers = await startServers({
      kind,
      nodes,
      redis: cluster,
      rocketBin: options.rocketBin,
      hub: options.hub,
      cpus: options.serverCpus,
    });
  } catch (err) {
    const message = (err as Error).message;
    progress.log(`${kind}: could not start: ${message.split("\n").slice(0, 6).join("\n  ")}`);
    return failedRun(kind, options, message);
  }
  const untrack = options.track(() => servers.stop());
  try {
    const target: Target = {
      label: kind,
      urls: servers.urls,
      serverPids: servers.pids,
      redisPid: servers.redisPid,
      secret: servers.secret,
      readSecret: "",
    };
    progress.log(
      `${kind}: ${servers.urls.join(", ")} (pid ${servers.pids.join(", ")}${servers.redisPid ? `, redis ${servers.redisPid}` : ""})`,
    );
    const plan = planScenario(options.scenario, options.load, servers.urls);
    return await runPlan(options.scenario, plan, options.load, target, progress);
  } finally {
    await servers.stop();
    untrack();
  }
}

function failedRun(kind: ServerKind, options: CompareOptions, error: string): RunResult {
  return {
    scenario: options.scenario,
    target: kind,
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
