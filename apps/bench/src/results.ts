import type { LatencySummary } from "./histogram.js";

/** One measured phase: peak (as fast as flow control allows), half (half the peak's rate) or fixed (--rate). */
export interface PhaseResult {
  readonly name: "peak" | "half" | "fixed";
  /** Publishes per second asked for; undefined at peak. */
  readonly targetRate: number | undefined;
  /** Length of the measurement window (warm-up and drain excluded). */
  readonly seconds: number;
  readonly publishRate: number;
  readonly deliveryRate: number;
  /** Over the whole phase, warm-up and drain included. */
  readonly published: number;
  readonly acks: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  /** Deliveries owed to the steady subscribers: each publish times its channel's subscribers. */
  readonly expected: number;
  readonly received: number;
  /** Never arrived: skipped sequence numbers plus those missing when the drain ended. */
  readonly lost: number;
  readonly duplicates: number;
  /** Publish-to-receive latency over the measurement window. */
  readonly latency: LatencySummary;
  /** Connections the server closed, by close code. */
  readonly dropped: number;
  readonly closeCodes: Readonly<Record<string, number>>;
  readonly cpu: CpuUse;
  readonly limitedBy: string;
  readonly churn: ChurnResult | undefined;
}

export interface CpuUse {
  /** Percent of one core, per server process (undefined where it could not be read). */
  readonly serversPct: readonly (number | undefined)[];
  readonly redisPct: number | undefined;
  /** The load side: this process and its worker processes. */
  readonly loadPct: number | undefined;
  /** The load side's busiest thread: at 100% the load side cannot go faster whatever the total says. */
  readonly loadThreadPct: number | undefined;
  /** The whole machine, percent of all cores. */
  readonly machineBusyPct: number | undefined;
  /**
   * CPU the machine spent outside the processes above, percent of one core: other
   * programs, and kernel work no process is charged for. Near 0 on a quiet machine; a
   * run with much of it was disturbed.
   */
  readonly othersPct: number | undefined;
}

export interface ChurnResult {
  readonly cycles: number;
  readonly failures: number;
  readonly cyclesPerSec: number;
  /** Deliveries churning clients got while subscribed (not checked for loss). */
  readonly deliveries: number;
  /** Connect + auth + subscribe time of a churning client. */
  readonly subscribeLatency: LatencySummary;
}

export interface IdleResult {
  /** Connections still open after the settle pause. */
  readonly held: number;
  readonly serverRssBeforeBytes: number | undefined;
  readonly serverRssAfterBytes: number | undefined;
  readonly rssPerConnectionBytes: number | undefined;
}

/** One scenario against one server (or cluster). */
export interface RunResult {
  readonly scenario: string;
  readonly target: string;
  readonly description: string;
  readonly urls: readonly string[];
  readonly payloadBytes: number;
  readonly workers: number;
  readonly workerKind: string;
  readonly connections: {
    readonly requested: number;
    readonly opened: number;
    readonly failed: number;
    readonly firstError: string | undefined;
    /** From the first connect to the last subscribe acknowledged. */
    readonly openMs: number;
    readonly perSec: number;
  };
  readonly idle: IdleResult | undefined;
  readonly phases: readonly PhaseResult[];
  /** Set when the run could not be made (server did not start, connections refused, ...). */
  readonly error?: string;
  /** Which round of a comparison over several rounds (from 1). */
  readonly round?: number;
}
