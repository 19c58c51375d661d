import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The built CLI (`npm test` builds before running tests). */
export const benchBin = fileURLToPath(new URL("../../apps/bench/bin/rocket-bench.js", import.meta.url));

export interface LatencySummary {
  count: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
}

export interface Phase {
  name: string;
  targetRate?: number;
  publishRate: number;
  deliveryRate: number;
  published: number;
  acks: number;
  errors: number;
  expected: number;
  received: number;
  lost: number;
  duplicates: number;
  dropped: number;
  latency: LatencySummary;
  cpu: { serversPct: (number | null)[]; redisPct?: number };
  limitedBy: string;
  churn?: { cycles: number; failures: number; deliveries: number; subscribeLatency: LatencySummary };
}

export interface Run {
  target: string;
  round?: number;
  error?: string;
  urls: string[];
  connections: { requested: number; opened: number; failed: number };
  idle?: { held: number; rssPerConnectionBytes?: number };
  phases: Phase[];
}

/** Each side's figures and their ratio, by name (`serverMicrosPerDelivery`, `p99Ms`, ...). */
export interface RoundFigures {
  rocket: Record<string, number | undefined>;
  baseline: Record<string, number | undefined>;
  ratio: Record<string, number | undefined>;
}

export interface BenchOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
  report:
    | {
        scenario: string;
        runs: Run[];
        machine: { cores: number };
        rounds?: { phase: string; targetRate?: number; rounds: RoundFigures[]; median: RoundFigures }[];
      }
    | undefined;
}

/**
 * Runs `rocket-bench` to completion with a JSON report. On timeout it is sent SIGTERM
 * (it then stops the servers it started), and SIGKILL if it lingers.
 */
export async function runBench(args: readonly string[], timeoutMs = 60_000): Promise<BenchOutcome> {
  const dir = mkdtempSync(join(tmpdir(), "rocket-bench-test-"));
  const json = join(dir, "report.json");
  const child = spawn(process.execPath, [benchBin, ...args, "--json", json, "--no-progress"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => {
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  clearTimeout(timer);
  let report: BenchOutcome["report"];
  try {
    report = JSON.parse(readFileSync(json, "utf8"));
  } catch {
    report = undefined;
  }
  rmSync(dir, { recursive: true, force: true });
  return { code, stdout, stderr, report };
}

/** Flags that keep a smoke run tiny and short. */
export const tiny = ["--duration", "0.5", "--warmup", "0.2", "--workers", "1", "--drain-timeout", "5000"];
