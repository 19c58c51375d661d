import {
  cpuMicrosPerDelivery,
  formatBytes,
  formatCount,
  formatMs,
  ratio,
  redisMicrosPerDelivery,
  renderTable,
} from "./report.js";
import type { PhaseResult, RunResult } from "./results.js";

/** One figure a comparison over rounds is judged on. */
interface Column {
  readonly key: string;
  readonly label: string;
  readonly value: (run: RunResult, phase: PhaseResult | undefined) => number | undefined;
  readonly format: (v: number | undefined) => string;
  /** Gets a rocket/baseline ratio. */
  readonly ratio: boolean;
  /** Left out when no run has a value. */
  readonly optional?: boolean;
}

const micros = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(2));
const ratioText = (v: number | undefined) => (v === undefined ? "" : v.toFixed(2));

const columns: readonly Column[] = [
  { key: "deliveriesPerSec", label: "deliveries/s", value: (_, p) => p?.deliveryRate, format: formatCount, ratio: true },
  {
    key: "serverMicrosPerDelivery",
    label: "server µs/delivery",
    value: (_, p) => (p ? cpuMicrosPerDelivery(p) : undefined),
    format: micros,
    ratio: true,
  },
  {
    key: "redisMicrosPerDelivery",
    label: "Redis µs/delivery",
    value: (_, p) => (p ? redisMicrosPerDelivery(p) : undefined),
    format: micros,
    ratio: true,
    optional: true,
  },
  { key: "p50Ms", label: "p50 ms", value: (_, p) => p?.latency.p50Ms, format: formatMs, ratio: true },
  { key: "p99Ms", label: "p99 ms", value: (_, p) => p?.latency.p99Ms, format: formatMs, ratio: true },
  { key: "lost", label: "lost", value: (_, p) => p?.lost, format: formatCount, ratio: false },
  {
    key: "idleRssPerConnectionBytes",
    label: "idle RSS/conn",
    value: (r) => r.idle?.rssPerConnectionBytes,
    format: formatBytes,
    ratio: true,
    optional: true,
  },
];

/** A figure per column key; undefined where it could not be measured. */
export type Figures = Readonly<Record<string, number | undefined>>;

/** One round, or the medians: each side's figures and their ratio, rocket / baseline. */
export interface RoundFigures {
  readonly rocket: Figures;
  readonly baseline: Figures;
  readonly ratio: Figures;
}

/** A comparison over rounds for one phase (fixed, or peak and half). */
export interface RoundsSummary {
  /** The two sides' names: rocket and baseline, or rocket+history and rocket (`rocket` and `baseline` below). */
  readonly sides: readonly [string, string];
  readonly phase: PhaseResult["name"];
  /** Publishes/s asked for (fixed phase). */
  readonly targetRate: number | undefined;
  readonly rounds: readonly RoundFigures[];
  /** Median of each side's figures; `ratio` is the median of the rounds' ratios (each from one pair of runs). */
  readonly median: RoundFigures;
}

/** The middle value (mean of the two middle ones for an even count) of those measured. */
export function median(values: readonly (number | undefined)[]): number | undefined {
  const sorted = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  const upper = sorted[mid];
  const lower = sorted[mid - 1];
  return sorted.length % 2 === 1 || upper === undefined || lower === undefined ? upper : (lower + upper) / 2;
}

function figuresOf(run: RunResult, name: PhaseResult["name"]): Figures {
  const phase = run.phases.find((p) => p.name === name);
  return Object.fromEntries(columns.map((c) => [c.key, c.value(run, phase)]));
}

function ratiosOf(a: Figures, b: Figures): Figures {
  return Object.fromEntries(columns.map((c) => [c.key, c.ratio ? ratio(a[c.key], b[c.key]) : undefined]));
}

function medians(figures: readonly Figures[]): Figures {
  return Object.fromEntries(columns.map((c) => [c.key, median(figures.map((f) => f[c.key]))]));
}

/**
 * Sums up a comparison over rounds: `runs` as `compare` returns them (rocket, baseline,
 * rocket, baseline, ...), one summary per phase the runs went through.
 */
export function summarizeRounds(runs: readonly RunResult[]): RoundsSummary[] {
  const pairs: [RunResult, RunResult][] = [];
  for (let i = 0; i + 1 < runs.length; i += 2) {
    const [rocket, baseline] = [runs[i], runs[i + 1]];
    if (rocket !== undefined && baseline !== undefined) pairs.push([rocket, baseline]);
  }
  const names = (["fixed", "peak", "half"] as const).filter((name) => runs.some((r) => r.phases.some((p) => p.name === name)));
  return names.map((name) => {
    const rounds = pairs.map(([rocket, baseline]) => {
      const a = figuresOf(rocket, name);
      const b = figuresOf(baseline, name);
      return { rocket: a, baseline: b, ratio: ratiosOf(a, b) };
    });
    const targetRate = runs.flatMap((r) => r.phases).find((p) => p.name === name)?.targetRate;
    return {
      sides: [pairs[0]?.[0].target ?? "rocket", pairs[0]?.[1].target ?? "baseline"] as const,
      phase: name,
      targetRate: name === "fixed" ? targetRate : undefined,
      rounds,
      median: {
        rocket: medians(rounds.map((r) => r.rocket)),
        baseline: medians(rounds.map((r) => r.baseline)),
        ratio: medians(rounds.map((r) => r.ratio)),
      },
    };
  });
}

function phaseTitle(s: RoundsSummary): string {
  if (s.phase === "fixed") return `fixed rate, ${formatCount(s.targetRate)} publishes/s asked`;
  return s.phase === "peak" ? "peak" : "half rate";
}

/** The tables of a comparison over rounds, and the line to quote. */
export function formatRounds(summaries: readonly RoundsSummary[]): string {
  const first = summaries[0];
  if (!first) return "";
  const [a, b] = first.sides;
  const lines = [
    `${first.rounds.length} rounds, ${a} and ${b} alternating; ratio = ${a} / ${b} ` +
      "(the median ratio is the median of the rounds' ratios)",
  ];
  for (const s of summaries) {
    const all = [...s.rounds, s.median].flatMap((r) => [r.rocket, r.baseline]);
    const shown = columns.filter((c) => !c.optional || all.some((f) => f[c.key] !== undefined));
    const row = (label: string, f: Figures, format: (c: Column) => (v: number | undefined) => string) => [
      label,
      ...shown.map((c) => format(c)(f[c.key])),
    ];
    const table: string[][] = [["", ...shown.map((c) => c.label)]];
    const add = (label: string, r: RoundFigures): void => {
      table.push(
        row(`${label} ${a}`, r.rocket, (c) => c.format),
        row(`${label} ${b}`, r.baseline, (c) => c.format),
        row(`${label} ratio`, r.ratio, () => ratioText),
      );
    };
    for (const [i, r] of s.rounds.entries()) add(`round ${i + 1}`, r);
    add("median", s.median);
    lines.push("", `${phaseTitle(s)}:`, renderTable(table));
  }
  const quoted = summaries.find((s) => s.phase === "fixed") ?? summaries.find((s) => s.phase === "peak") ?? first;
  const m = quoted.median.ratio;
  lines.push(
    "",
    `${a}/${b}, median of ${quoted.rounds.length} rounds, ${phaseTitle(quoted)}: ` +
      `server µs per delivery ${ratioText(m.serverMicrosPerDelivery) || "-"}, ` +
      `p99 ${ratioText(m.p99Ms) || "-"}, deliveries/s ${ratioText(m.deliveriesPerSec) || "-"}` +
      (m.idleRssPerConnectionBytes !== undefined ? `, idle RSS per connection ${ratioText(m.idleRssPerConnectionBytes)}` : ""),
  );
  return lines.join("\n");
}
