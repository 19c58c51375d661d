import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { stringify } from "yaml";
import { freePort, type Proc, requireProgram, startProcess } from "../harness/index.js";
import { prometheusYml, readYaml } from "./files.js";

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  [key: string]: unknown;
}

interface PrometheusConfig {
  global?: Record<string, unknown>;
  rule_files?: string[];
  alerting?: { alertmanagers?: { static_configs?: { targets: string[] }[] }[] };
  scrape_configs: ScrapeConfig[];
  [key: string]: unknown;
}

export interface RenderOptions {
  /** Replaces the targets of the `alerting` section; required when the file has one. */
  readonly alertmanagers?: readonly string[];
  /** Rule files to load instead of the file's own (absolute paths). */
  readonly ruleFiles?: readonly string[] | undefined;
  readonly intervalSeconds?: number;
}

/** The rule files deploy/prometheus/prometheus.yml loads, as absolute paths. */
export function ruleFiles(): string[] {
  const config = readYaml<PrometheusConfig>(prometheusYml);
  return (config.rule_files ?? []).map((f) => (isAbsolute(f) ? f : resolve(dirname(prometheusYml), f)));
}

/**
 * deploy/prometheus/prometheus.yml with only these changes: every job's static targets
 * replaced by `targets[job]` (a job the test does not name is an error, so a new job cannot
 * go untested), the Alertmanager targets by `options.alertmanagers`, the intervals set to
 * `intervalSeconds` (1 s), and rule files made absolute (or replaced by `options.ruleFiles`).
 */
export function renderPrometheusConfig(
  targets: Readonly<Record<string, readonly string[]>>,
  options: RenderOptions = {},
): string {
  const config = readYaml<PrometheusConfig>(prometheusYml);
  const interval = `${options.intervalSeconds ?? 1}s`;
  config.global = { ...config.global, scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval };
  config.rule_files = [...(options.ruleFiles ?? ruleFiles())];
  for (const job of config.scrape_configs) {
    const list = targets[job.job_name];
    if (!list) throw new Error(`prometheus.yml has a job "${job.job_name}" the test gives no targets for`);
    if (!job.static_configs) throw new Error(`job "${job.job_name}" has no static_configs to replace`);
    job.static_configs = [{ targets: [...list] }];
  }
  for (const alertmanager of config.alerting?.alertmanagers ?? []) {
    if (!options.alertmanagers) throw new Error("prometheus.yml sends alerts to an Alertmanager the test gives no target for");
    if (!alertmanager.static_configs) throw new Error("an alertmanagers entry has no static_configs to replace");
    alertmanager.static_configs = [{ targets: [...options.alertmanagers] }];
  }
  return stringify(config);
}

interface RuleFile {
  groups: { name: string; rules: { alert?: string; for?: string; [key: string]: unknown }[] }[];
}

/**
 * A copy of `file` in which no alert waits longer than `seconds` in pending (`for`), so that a
 * test sees an alert fire within seconds of the fault it injects; the expressions are unchanged.
 */
export function withShortFor(file: string, seconds: number): string {
  const rules = readYaml<RuleFile>(file);
  for (const group of rules.groups) {
    for (const rule of group.rules) if (rule.for !== undefined) rule.for = `${seconds}s`;
  }
  return stringify(rules);
}

/** An alert as Prometheus's /api/v1/alerts lists it: pending or firing. */
export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: "pending" | "firing";
  value: string;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusProc {
  readonly proc: Proc;
  readonly url: string;
  /** The rendered configuration file. */
  readonly configFile: string;
  /** Instant query; rejects on a PromQL error. */
  query(expr: string): Promise<PromSample[]>;
  /** GET /api/v1/<path> and return `data`. */
  api<T>(path: string): Promise<T>;
  /** The alerts pending or firing now. */
  alerts(): Promise<PromAlert[]>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Where alerts go (`127.0.0.1:<port>` of a running Alertmanager). */
  readonly alertmanagers: readonly string[];
  /** Load copies of the rule files in which every `for` is this many seconds (see withShortFor). */
  readonly forSeconds?: number | undefined;
}

/** Starts /usr/bin/prometheus on 127.0.0.1, a free port and a temporary data directory. */
export async function startPrometheus(
  targets: Readonly<Record<string, readonly string[]>>,
  options: StartOptions,
): Promise<PrometheusProc> {
  const dir = mkdtempSync(join(tmpdir(), "rocket-prometheus-"));
  const configFile = join(dir, "prometheus.yml");
  let rules: string[] | undefined;
  if (options.forSeconds !== undefined) {
    const seconds = options.forSeconds;
    rules = ruleFiles().map((file, i) => {
      const copy = join(dir, `rules-${i}.yml`);
      writeFileSync(copy, withShortFor(file, seconds));
      return copy;
    });
  }
  writeFileSync(configFile, renderPrometheusConfig(targets, { alertmanagers: options.alertmanagers, ruleFiles: rules }));
  const port = await freePort();
  const proc = startProcess("prometheus", [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--storage.tsdb.retention.time=1h",
  ]);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await proc.waitForLine(/Server is ready to receive web requests/, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}/api/v1/${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  return {
    proc,
    url,
    configFile,
    api,
    alerts: async () => (await api<{ alerts: PromAlert[] }>("alerts")).alerts,
    async query(expr) {
      const data = await api<{ resultType: string; result: PromSample[] | [number, string] }>(
        `query?query=${encodeURIComponent(expr)}`,
      );
      if (data.resultType === "scalar") return [{ metric: {}, value: data.result as [number, string] }];
      return data.result as PromSample[];
    },
    stop,
  };
}

/** Runs promtool (with `stdin` piped in, for `check metrics`); resolves with its exit code and output. */
export function promtool(args: readonly string[], stdin?: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(requireProgram("promtool"), args, { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, output }));
    child.stdin.end(stdin ?? "");
  });
}
