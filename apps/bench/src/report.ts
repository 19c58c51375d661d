import type { LatencySummary } from "./histogram.js";
import type { PhaseResult, RunResult } from "./results.js";

/** Lays rows out in columns: the first left-aligned, the rest right-aligned. */
export function renderTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function formatCount(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? "-" : Math.round(n).toLocaleString("en-US");
}

export function formatMs(v: number | undefined): string {
  if (v === undefined) return "-";
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
}

function formatPct(v: number | undefined): string {
  return v === undefined ? "-" : `${Math.round(v)}%`;
}

export function formatBytes(v: number | undefined): string {
  if (v === undefined) return "-";
  return Math.abs(v) >= 10 * 1024 * 1024 ? `${(v / 1024 / 1024).toFixed(0)} MiB` : `${(v / 1024).toFixed(2)} KiB`;
}

/** `a / b`, undefined when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

function formatRatio(r: number | undefined): string {
  return r === undefined ? "-" : r.toFixed(2);
}

/** Deliveries owed that are neither received nor counted lost; 0 when the books balance. */
export function unaccounted(p: PhaseResult): number {
  return p.expected - p.received - p.lost;
}

interface Row {
  readonly label: string;
  readonly value: (r: RunResult) => number | undefined;
  readonly format: (v: number | undefined) => string;
  /** Gets a ratio column when comparing. */
  readonly compare?: boolean;
  /** Left out when no run has a value (churn rows outside the churn scenario). */
  readonly optional?: boolean;
}

function phaseRows(name: PhaseResult["name"]): Row[] {
  const phase = (r: RunResult) => r.phases.find((p) => p.name === name);
  const lat = (pick: (l: LatencySummary) => number | undefined) => (r: RunResult) => {
    const p = phase(r);
    return p ? pick(p.latency) : undefined;
  };
  const at = (pick: (p: PhaseResult) => number | undefined) => (r: RunResult) => {
    const p = phase(r);
    return p ? pick(p) : undefined;
  };
  const title = name === "peak" ? "peak" : name === "half" ? "half rate" : "fixed rate";
  const rows: Row[] = [];
  if (name !== "peak") rows.push({ label: `${title}: publishes/s asked`, value: at((p) => p.targetRate), format: formatCount });
  rows.push(
    { label: `${title}: publishes/s`, value: at((p) => p.publishRate), format: formatCount, compare: true },
    { label: `${title}: deliveries/s`, value: at((p) => p.deliveryRate), format: formatCount, compare: true },
    { label: `${title}: latency p50 ms`, value: lat((l) => l.p50Ms), format: formatMs, compare: true },
    { label: `${title}: latency p99 ms`, value: lat((l) => l.p99Ms), format: formatMs, compare: true },
    { label: `${title}: latency p99.9 ms`, value: lat((l) => l.p999Ms), format: formatMs, compare: true },
    { label: `${title}: deliveries expected`, value: at((p) => p.expected), format: formatCount },
    { label: `${title}: deliveries received`, value: at((p) => p.received), format: formatCount },
    { label: `${title}: lost`, value: at((p) => p.lost), format: formatCount },
    { label: `${title}: publish errors`, value: at((p) => p.errors), format: formatCount },
    { label: `${title}: server CPU (max)`, value: at((p) => maxOf(p.cpu.serversPct)), format: formatPct },
    { label: `${title}: Redis CPU`, value: at((p) => p.cpu.redisPct), format: formatPct, optional: true },
    { label: `${title}: load CPU`, value: at((p) => p.cpu.loadPct), format: formatPct },
    { label: `${title}: load CPU, busiest thread`, value: at((p) => p.cpu.loadThreadPct), format: formatPct },
    { label: `${title}: other CPU on the machine`, value: at((p) => p.cpu.othersPct), format: formatPct },
    {
      label: `${title}: server CPU µs per delivery`,
      value: at((p) => cpuMicrosPerDelivery(p)),
      format: (v) => (v === undefined ? "-" : v.toFixed(2)),
      compare: true,
    },
    {
      label: `${title}: Redis CPU µs per delivery`,
      value: at((p) => redisMicrosPerDelivery(p)),
      format: (v) => (v === undefined ? "-" : v.toFixed(2)),
      compare: true,
      optional: true,
    },
  );
  const churn = (r: RunResult) => phase(r)?.churn;
  rows.push(
    {
      label: `${title}: churn cycles/s`,
      value: (r) => churn(r)?.cyclesPerSec,
      format: formatCount,
      compare: true,
      optional: true,
    },
    { label: `${title}: churn failures`, value: (r) => churn(r)?.failures, format: formatCount, optional: true },
    {
      label: `${title}: churn subscribe p50 ms`,
      value: (r) => churn(r)?.subscribeLatency.p50Ms,
      format: formatMs,
      compare: true,
      optional: true,
    },
    {
      label: `${title}: churn subscribe p99 ms`,
      value: (r) => churn(r)?.subscribeLatency.p99Ms,
      format: formatMs,
      compare: true,
      optional: true,
    },
  );
  return rows;
}

/**
 * Server CPU time (all nodes together) per delivery. Unlike the rates it holds up when the
 * load side shares the machine: a server that does the same work with less CPU scores
 * better even when the client is what limits the rate.
 */
export function cpuMicrosPerDelivery(p: PhaseResult): number | undefined {
  if (p.deliveryRate <= 0 || p.cpu.serversPct.some((v) => v === undefined) || p.cpu.serversPct.length === 0) return undefined;
  const cores = p.cpu.serversPct.reduce<number>((a, b) => a + (b ?? 0), 0) / 100;
  return (cores / p.deliveryRate) * 1e6;
}

/** Redis CPU time per delivery (cluster mode), like {@link cpuMicrosPerDelivery}. */
export function redisMicrosPerDelivery(p: PhaseResult): number | undefined {
  if (p.cpu.redisPct === undefined || p.deliveryRate <= 0) return undefined;
  return (p.cpu.redisPct / 100 / p.deliveryRate) * 1e6;
}

function maxOf(values: readonly (number | undefined)[]): number | undefined {
  return values.reduce<number | undefined>((a, b) => (b === undefined ? a : Math.max(a ?? 0, b)), undefined);
}

function rowsFor(runs: readonly RunResult[]): Row[] {
  const rows: Row[] = [
    { label: "connections opened", value: (r) => r.connections.opened, format: formatCount },
    { label: "open time s", value: (r) => r.connections.openMs / 1000, format: (v) => (v === undefined ? "-" : v.toFixed(2)) },
    { label: "connections opened/s", value: (r) => r.connections.perSec, format: formatCount, compare: true },
  ];
  if (runs.some((r) => r.idle)) {
    rows.push(
      { label: "idle: connections held", value: (r) => r.idle?.held, format: formatCount },
      { label: "idle: server RSS", value: (r) => r.idle?.serverRssAfterBytes, format: formatBytes },
      {
        label: "idle: server RSS per connection",
        value: (r) => r.idle?.rssPerConnectionBytes,
        format: formatBytes,
        compare: true,
      },
    );
  }
  for (const name of ["peak", "half", "fixed"] as const) {
    if (runs.some((r) => r.phases.some((p) => p.name === name))) rows.push(...phaseRows(name));
  }
  return rows;
}

/** The final table: one column per run, a ratio column (first run / second) when comparing two. */
export function formatRuns(runs: readonly RunResult[]): string {
  const first = runs[0];
  if (!first) return "";
  const lines: string[] = [];
  lines.push(`${first.scenario}: ${first.description}; ${first.payloadBytes}-byte payloads`);
  for (const r of runs) {
    const load = r.workers > 0 ? ` (load: ${r.workers} worker ${r.workerKind === "process" ? "processes" : "threads"})` : "";
    lines.push(`  ${r.target}: ${r.urls.join(", ") || "-"}${load}${r.error ? ` — FAILED: ${r.error}` : ""}`);
  }
  const [firstRun, secondRun] = runs;
  const pair =
    runs.length === 2 && firstRun !== undefined && secondRun !== undefined ? ([firstRun, secondRun] as const) : undefined;
  const comparing = pair !== undefined;
  const header = ["", ...runs.map((r) => r.target)];
  if (pair) header.push(`${pair[0].target}/${pair[1].target}`);
  const table: string[][] = [header];
  for (const row of rowsFor(runs)) {
    const values = runs.map((r) => row.value(r));
    if (row.optional && values.every((v) => v === undefined)) continue;
    const cells = [row.label, ...values.map((v) => row.format(v))];
    if (comparing) cells.push(row.compare ? formatRatio(ratio(values[0], values[1])) : "");
    table.push(cells);
  }
  const limits = (name: PhaseResult["name"]) =>
    runs.map((r) => {
      const p = r.phases.find((x) => x.name === name);
      return p ? `  ${name} ${r.target}: limited by ${p.limitedBy}` : undefined;
    });
  lines.push("", renderTable(table), "");
  for (const name of ["peak", "half", "fixed"] as const) for (const l of limits(name)) if (l) lines.push(l);
  for (const r of runs) {
    for (const p of r.phases) {
      const off = unaccounted(p);
      if (off !== 0) lines.push(`  WARNING ${r.target} ${p.name}: ${off} deliveries unaccounted for (expected ${p.expected})`);
      if (p.dropped > 0)
        lines.push(`  WARNING ${r.target} ${p.name}: server closed ${p.dropped} connections ${JSON.stringify(p.closeCodes)}`);
      if (p.firstError) lines.push(`  ${r.target} ${p.name}: first error reply ${p.firstError}`);
    }
  }
  if (pair) {
    const h = headline(pair[0], pair[1]);
    if (h) lines.push("", h);
  }
  return lines.join("\n");
}

/** The number a comparison is about: peak delivery rate (or, at a fixed rate, p99 latency), first / second. */
export function headline(a: RunResult, b: RunResult): string | undefined {
  const peak = (r: RunResult) => r.phases.find((p) => p.name === "peak");
  const pa = peak(a);
  const pb = peak(b);
  if (pa && pb) {
    const r = ratio(pa.deliveryRate, pb.deliveryRate);
    return `${a.target}/${b.target} peak deliveries/s: ${formatCount(pa.deliveryRate)} / ${formatCount(pb.deliveryRate)} = ${formatRatio(r)}`;
  }
  const fa = a.phases[0];
  const fb = b.phases[0];
  if (fa && fb) {
    return `${a.target}/${b.target} p99 latency at ${formatCount(fa.targetRate)}/s: ${formatMs(fa.latency.p99Ms)} / ${formatMs(fb.latency.p99Ms)} ms`;
  }
  return undefined;
}
