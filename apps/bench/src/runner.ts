import { availableParallelism } from "node:os";
import { distribute, sumCounters, WorkerGroup } from "./coordinator.js";
import type { LoadOptions, Target } from "./options.js";
import { type PhaseContext, runPhase } from "./phase.js";
import { channelFacts, type Plan } from "./plan.js";
import { readRssBytes } from "./proc-stats.js";
import type { Progress } from "./progress.js";
import type { IdleResult, PhaseResult, RunResult } from "./results.js";
import type { WorkerKind } from "./worker-pool.js";

const event = "bench";
const tickMs = 250;

/** Source addresses used when a large run targets loopback and none were given. */
const loopbackSources = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8", "127.0.0.9"];
const spreadAbove = 5000;

/** Deliveries a publisher may have in flight at peak, over all its channel's subscribers. */
const deliveriesInFlight = 50_000;

/**
 * How far a publisher may run ahead of its channel's slowest subscriber. Enough in flight
 * to keep the server busy in batches, little enough that queues stay short (a server with
 * megabytes queued per socket spends its time moving them) and far under the 1 MiB
 * per-socket send limit.
 */
export function defaultWindow(payloadBytes: number, subscribersPerChannel: number): number {
  const bySize = Math.floor((256 * 1024) / (payloadBytes + 80));
  const byFanout = Math.ceil(deliveriesInFlight / Math.max(1, subscribersPerChannel));
  return Math.max(4, Math.min(bySize, byFanout, 2000));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs one scenario's plan against one target: setup, (idle), then its phases. */
export async function runPlan(
  scenario: string,
  plan: Plan,
  options: LoadOptions,
  target: Target,
  progress: Progress,
): Promise<RunResult> {
  const kind: WorkerKind = plan.workerKind ?? options.workerKind ?? "thread";
  const workerCount = Math.max(plan.minWorkers, options.workers ?? Math.max(2, availableParallelism()));
  const facts = channelFacts(plan.conns);
  const { perWorker, relays } = distribute(plan.conns, workerCount, facts.relayed);
  const publishersPerWorker = perWorker.map((conns) => conns.filter((c) => c.publish).length);
  const sources =
    options.sourceAddresses !== "auto"
      ? options.sourceAddresses
      : plan.conns.length > spreadAbove && target.urls.every((u) => new URL(u).hostname === "127.0.0.1")
        ? loopbackSources
        : [];
  const group = new WorkerGroup(kind, workerCount, relays);
  const label = `${target.label} ${scenario}`;
  try {
    const rssBefore = target.serverPids[0] !== undefined ? readRssBytes(target.serverPids[0]) : undefined;
    const setupStarted = performance.now();
    group.onUpdate = () => progress.update(`${label} connecting: ${group.opened()}/${plan.conns.length}`);
    group.post((i) => ({
      type: "setup",
      worker: i,
      conns: perWorker[i] ?? [],
      secret: target.secret,
      readSecret: target.readSecret,
      token: target.token,
      event,
      payloadBytes: options.payloadBytes,
      sourceAddresses: sources,
      connectConcurrency: options.connectConcurrency,
      connectTimeoutMs: options.connectTimeoutMs,
      relayedChannels: [...facts.relayed],
      churn: plan.churn ? { ...plan.churn, ratePerSec: plan.churn.ratePerSec / workerCount } : undefined,
      tickMs,
      httpPublish:
        target.httpPublish === undefined
          ? undefined
          : { ...target.httpPublish, hub: new URL(target.urls[0] ?? "ws://localhost/").pathname },
    }));
    const ready = await group.collect("ready", Math.max(60_000, plan.conns.length * 10));
    const openMs = performance.now() - setupStarted;
    const opened = ready.reduce((n, r) => n + r.opened, 0);
    const failed = ready.reduce((n, r) => n + r.failed, 0);
    const connections = {
      requested: plan.conns.length,
      opened,
      failed,
      firstError: ready.find((r) => r.firstError)?.firstError,
      openMs,
      perSec: opened / (openMs / 1000),
    };
    progress.log(`${label}: ${opened} connections open in ${(openMs / 1000).toFixed(1)} s${failed ? `, ${failed} failed` : ""}`);
    const base = {
      scenario,
      target: target.label,
      description: plan.description,
      urls: target.urls,
      payloadBytes: options.payloadBytes,
      workers: workerCount,
      workerKind: kind,
      connections,
    };
    if (failed > 0) {
      return { ...base, idle: undefined, phases: [], error: `${failed} connections failed: ${connections.firstError}` };
    }

    let idle: IdleResult | undefined;
    if (plan.measureIdle) {
      progress.update(`${label} idle: settling ${options.settleSec} s`);
      await sleep(options.settleSec * 1000);
      await sleep(tickMs * 2);
      const held = sumCounters(group.counters).open;
      const rssAfter = target.serverPids[0] !== undefined ? readRssBytes(target.serverPids[0]) : undefined;
      idle = {
        held,
        serverRssBeforeBytes: rssBefore,
        serverRssAfterBytes: rssAfter,
        rssPerConnectionBytes:
          rssBefore !== undefined && rssAfter !== undefined && held > 0 ? (rssAfter - rssBefore) / held : undefined,
      };
    }

    const widest = Math.max(1, ...facts.subscribers.values());
    const window = options.window ?? (facts.relayed.size > 0 ? defaultWindow(options.payloadBytes, widest) : 16);
    const phases: PhaseResult[] = [];
    const context: PhaseContext = {
      group,
      plan,
      options,
      target,
      kind,
      facts,
      publishersPerWorker,
      window,
      label,
      progress,
      seqAtStart: {},
      epoch: 0,
    };
    if (options.ratePerSec !== undefined) {
      phases.push(await runPhase(context, "fixed", options.ratePerSec));
    } else {
      const peak = await runPhase(context, "peak", undefined);
      phases.push(peak);
      if (peak.publishRate > 0) phases.push(await runPhase(context, "half", peak.publishRate / 2));
    }
    return { ...base, idle, phases };
  } finally {
    progress.update("");
    await group.close().catch(() => group.kill());
  }
}
