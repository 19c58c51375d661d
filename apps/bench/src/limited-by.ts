import type { CpuUse, PhaseResult } from "./results.js";

/** Machine CPU not accounted to the measured processes, in percent of one core. */
export function othersPct(cpu: CpuUse, cores: number): number | undefined {
  if (cpu.machineBusyPct === undefined || cpu.loadPct === undefined) return undefined;
  const known = cpu.serversPct.reduce<number>((a, b) => a + (b ?? 0), 0) + (cpu.redisPct ?? 0) + cpu.loadPct;
  return Math.max(0, cpu.machineBusyPct * cores - known);
}

/** A one-line guess at what held a phase back, from where the CPU went. */
export function limitedBy(phase: PhaseResult["name"], cpu: CpuUse, targetRate: number | undefined, achievedRate: number): string {
  const busy = (pct: number | undefined) => pct !== undefined && pct >= 90;
  const pct = (p: number | undefined) => (p === undefined ? "?" : `${Math.round(p)}%`);
  if (phase !== "peak" && targetRate !== undefined && achievedRate >= targetRate * 0.97) return "the fixed rate asked";
  const hottest = cpu.serversPct.reduce<number | undefined>((a, b) => (b === undefined ? a : Math.max(a ?? 0, b)), undefined);
  if (busy(hottest)) return `server CPU (${pct(hottest)} of a core)`;
  if (busy(cpu.redisPct)) return `Redis CPU (${pct(cpu.redisPct)} of a core)`;
  if (busy(cpu.loadThreadPct)) return `client CPU (busiest load thread ${pct(cpu.loadThreadPct)}, server ${pct(hottest)})`;
  // server, Redis and load threads share the cores: the machine saturates before any one of them does
  if (cpu.machineBusyPct !== undefined && cpu.machineBusyPct >= 85)
    return `shared CPU: machine ${pct(cpu.machineBusyPct)} busy (server ${pct(hottest)}, load ${pct(cpu.loadPct)})`;
  return `latency/flow window (server ${pct(hottest)}, load ${pct(cpu.loadPct)})`;
}
