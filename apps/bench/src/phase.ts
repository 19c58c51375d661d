import { availableParallelism } from "node:os";
import type { WorkerGroup } from "./coordinator.js";
import { sumCounters } from "./coordinator.js";
import { createHistogram, mergeEncoded, summarize } from "./histogram.js";
import { limitedBy, othersPct } from "./limited-by.js";
import type { Counters } from "./messages.js";
import type { LoadOptions, Target } from "./options.js";
import type { channelFacts, Plan } from "./plan.js";
import { CpuMeter } from "./proc-stats.js";
import type { Progress } from "./progress.js";
import type { CpuUse, PhaseResult } from "./results.js";
import type { WorkerKind } from "./worker-pool.js";

/** What every phase of one run shares; `seqAtStart` and `epoch` carry over from phase to phase. */
export interface PhaseContext {
  readonly group: WorkerGroup;
  readonly plan: Plan;
  readonly options: LoadOptions;
  readonly target: Target;
  readonly kind: WorkerKind;
  readonly facts: ReturnType<typeof channelFacts>;
  readonly publishersPerWorker: readonly number[];
  readonly window: number;
  readonly label: string;
  readonly progress: Progress;
  /** Last sequence number of each channel when the phase began (all delivered by then). */
  readonly seqAtStart: Record<string, number>;
  epoch: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * One phase: start the publishers (at `targetRate` in total, or as fast as flow control
 * allows), warm up, measure counters, latency and CPU over the window, stop, drain until
 * every subscriber has every message, and account for each delivery owed.
 */
export async function runPhase(
  ctx: PhaseContext,
  name: PhaseResult["name"],
  targetRate: number | undefined,
): Promise<PhaseResult> {
  const { group, plan, options, target, kind, facts, publishersPerWorker, window, label, progress, seqAtStart } = ctx;

  const rate = targetRate ?? 0;
  const phaseLabel = `${label} ${name}${targetRate ? ` @ ${Math.round(targetRate).toLocaleString("en-US")}/s` : ""}`;
  ctx.epoch++;
  group.setEpoch(ctx.epoch);
  group.post({ type: "reset", epoch: ctx.epoch });
  await group.collect("reset-done", 10_000);
  group.post((i) => ({
    type: "start",
    ratePerSec: facts.publishers > 0 ? (rate * (publishersPerWorker[i] ?? 0)) / facts.publishers : 0,
    window,
    churn: plan.churn !== undefined,
  }));
  const live = liveProgress(group, progress, phaseLabel);
  await Promise.race([sleep(options.warmupSec * 1000), group.failed]);
  ctx.epoch++;
  group.setEpoch(ctx.epoch);
  const pids = [
    ...target.serverPids,
    target.redisPid ?? -1,
    process.pid,
    ...(kind === "process" ? group.workers.map((w) => w.pid) : []),
  ];
  const loadPids = [process.pid, ...(kind === "process" ? group.workers.map((w) => w.pid) : [])];
  const meter = new CpuMeter(pids, loadPids);
  group.post({ type: "mark", epoch: ctx.epoch });
  const marked = await group.collect("marked", 10_000);
  const t0 = performance.now();
  live.start();
  await Promise.race([sleep(options.durationSec * 1000), group.failed]);
  group.post({ type: "stop" });
  const stopped = await group.collect("stopped", 10_000);
  const seconds = (performance.now() - t0) / 1000;
  const cpuRead = meter.read();
  live.stop();
  const lastSeq: Record<string, number> = {};
  for (const s of stopped) Object.assign(lastSeq, s.lastSeq);
  progress.update(`${phaseLabel}: draining`);
  group.post({ type: "drain", lastSeq, timeoutMs: options.drainTimeoutMs });
  const drained = await group.collect("drained", options.drainTimeoutMs + 10_000);

  let expected = 0;
  for (const [channel, last] of Object.entries(lastSeq)) {
    expected += (last - (seqAtStart[channel] ?? 0)) * (facts.subscribers.get(channel) ?? 0);
    seqAtStart[channel] = last;
  }
  const sum = (f: (c: (typeof drained)[number]["counts"]) => number) => drained.reduce((n, d) => n + f(d.counts), 0);
  const delta = (f: (c: Counters) => number) =>
    (stopped.reduce((n, s) => n + f(s.counters), 0) - marked.reduce((n, m) => n + f(m.counters), 0)) / seconds;
  const closeCodes: Record<string, number> = {};
  for (const d of drained)
    for (const [code, n] of Object.entries(d.counts.closeCodes)) closeCodes[code] = (closeCodes[code] ?? 0) + n;
  const nServers = target.serverPids.length;
  const cpu: Mutable<CpuUse> = {
    serversPct: cpuRead.perPid.slice(0, nServers),
    redisPct: target.redisPid !== undefined ? cpuRead.perPid[nServers] : undefined,
    loadPct: cpuRead.perPid
      .slice(nServers + 1)
      .reduce<number | undefined>((a, b) => (b === undefined ? a : (a ?? 0) + b), undefined),
    loadThreadPct: cpuRead.busiestThreadPct,
    machineBusyPct: cpuRead.machineBusyPct,
    othersPct: undefined,
  };
  cpu.othersPct = othersPct(cpu, availableParallelism());
  let churn: PhaseResult["churn"];
  if (plan.churn) {
    const h = createHistogram();
    for (const d of drained) mergeEncoded(h, d.churnLatency);
    const cycles = sum((c) => c.churnCycles);
    churn = {
      cycles,
      failures: sum((c) => c.churnFailures),
      cyclesPerSec: delta((c) => c.churnCycles),
      deliveries: sum((c) => c.churnDeliveries),
      subscribeLatency: summarize(h),
    };
  }
  const result: PhaseResult = {
    name,
    targetRate,
    seconds,
    publishRate: delta((c) => c.published),
    deliveryRate: delta((c) => c.received),
    published: sum((c) => c.published),
    acks: sum((c) => c.acks),
    errors: sum((c) => c.errors),
    firstError: drained.find((d) => d.counts.firstError)?.counts.firstError,
    expected,
    received: sum((c) => c.received),
    lost: sum((c) => c.gaps + c.tail),
    duplicates: sum((c) => c.duplicates),
    latency: summarize(group.histogram),
    dropped: sum((c) => c.dropped),
    closeCodes,
    cpu,
    limitedBy: limitedBy(
      name,
      cpu,
      targetRate,
      delta((c) => c.published),
    ),
    churn,
  };
  progress.log(phaseLine(phaseLabel, result));
  return result;
}

function phaseLine(label: string, r: PhaseResult): string {
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const ms = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(2));
  return (
    `${label}: ${fmt(r.deliveryRate)} deliveries/s, ${fmt(r.publishRate)} publishes/s, ` +
    `p50 ${ms(r.latency.p50Ms)} p99 ${ms(r.latency.p99Ms)} p99.9 ${ms(r.latency.p999Ms)} ms, lost ${r.lost}, ` +
    `limited by ${r.limitedBy}`
  );
}

/** Refreshes the progress line twice a second while a phase is measured. */
function liveProgress(group: WorkerGroup, progress: Progress, label: string): { start(): void; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let last = sumCounters(group.counters).received;
  let lastAt = performance.now();
  let state = "warm-up";
  const render = () => {
    const c = sumCounters(group.counters);
    const now = performance.now();
    const rate = ((c.received - last) / (now - lastAt)) * 1000;
    last = c.received;
    lastAt = now;
    const s = summarize(group.histogram);
    const ms = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(2));
    progress.update(
      `${label} ${state}: conns ${c.open} | ${Math.round(rate).toLocaleString("en-US")} msg/s | ` +
        `p50 ${ms(s.p50Ms)} p99 ${ms(s.p99Ms)} ms${c.dropped > 0 ? ` | dropped ${c.dropped}` : ""}`,
    );
  };
  group.onUpdate = () => {};
  timer = setInterval(render, 500);
  return {
    start() {
      state = "measuring";
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
