import { readdirSync, readFileSync } from "node:fs";

/** Resident set size of a process in bytes (VmRSS of /proc/PID/status); undefined when unreadable. */
export function readRssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Linux reports CPU time in clock ticks; USER_HZ is 100 on every mainstream build. */
const ticksPerSecond = 100;

/** CPU seconds (user + system) a process has used, all its threads included; undefined when unreadable. */
export function readCpuSeconds(pid: number): number | undefined {
  return cpuSecondsOf(`/proc/${pid}/stat`);
}

function cpuSecondsOf(statFile: string): number | undefined {
  try {
    const stat = readFileSync(statFile, "utf8");
    // fields after the parenthesised command name, which may itself hold spaces
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** CPU seconds per thread of a process (by thread id). */
export function readThreadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const seconds = cpuSecondsOf(`/proc/${pid}/task/${tid}/stat`);
    if (seconds !== undefined) out.set(Number(tid), seconds);
  }
  return out;
}

/** Busy and total jiffies of the whole machine (/proc/stat), for how loaded it was during a window. */
export function readMachineTicks(): { busy: number; total: number } | undefined {
  try {
    const [line] = readFileSync("/proc/stat", "utf8").split("\n", 1);
    if (line === undefined) return undefined;
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.reduce((a, b) => a + b, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** CPU use of several processes between two samples, as percent of one core each. */
export class CpuMeter {
  private readonly start: (number | undefined)[];
  private readonly startedAt = performance.now();
  private readonly machineStart = readMachineTicks();
  private readonly threadStart: Map<number, number>[];

  constructor(
    private readonly pids: readonly number[],
    /** Processes whose busiest thread is of interest (a single-threaded event loop saturates at 100% of one core). */
    private readonly threadPids: readonly number[] = [],
  ) {
    this.start = pids.map(readCpuSeconds);
    this.threadStart = threadPids.map(readThreadCpuSeconds);
  }

  /**
   * Percent of one core per pid since construction (undefined where unreadable), the
   * busiest thread of `threadPids`, and the machine's busy percent (of all cores).
   */
  read(): { perPid: (number | undefined)[]; busiestThreadPct: number | undefined; machineBusyPct: number | undefined } {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const perPid = this.pids.map((pid, i) => {
      const before = this.start[i];
      const after = readCpuSeconds(pid);
      return before === undefined || after === undefined || seconds <= 0 ? undefined : ((after - before) / seconds) * 100;
    });
    const end = readMachineTicks();
    const m = this.machineStart;
    const machineBusyPct = m && end && end.total > m.total ? ((end.busy - m.busy) / (end.total - m.total)) * 100 : undefined;
    let busiestThreadPct: number | undefined;
    this.threadPids.forEach((pid, i) => {
      const before = this.threadStart[i];
      if (before === undefined) return;
      for (const [tid, after] of readThreadCpuSeconds(pid)) {
        const pct = ((after - (before.get(tid) ?? 0)) / seconds) * 100;
        if (seconds > 0 && (busiestThreadPct === undefined || pct > busiestThreadPct)) busiestThreadPct = pct;
      }
    });
    return { perPid, busiestThreadPct, machineBusyPct };
  }
}
