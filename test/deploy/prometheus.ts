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
  scrape_configs: ScrapeConfig[];
  [key: string]: unknown;
}

/**
 * deploy/prometheus/prometheus.yml with only these changes: every job's static targets
 * replaced by `targets[job]` (a job the test does not name is an error, so a new job cannot
 * go untested), the intervals set to `intervalSeconds`, and rule files made absolute.
 */
export function renderPrometheusConfig(targets: Readonly<Record<string, readonly string[]>>, intervalSeconds = 1): string {
  const config = readYaml<PrometheusConfig>(prometheusYml);
  const interval = `${intervalSeconds}s`;
  config.global = { ...config.global, scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval };
  config.rule_files = (config.rule_files ?? []).map((f) => (isAbsolute(f) ? f : resolve(dirname(prometheusYml), f)));
  for (const job of config.scrape_configs) {
    const list = targets[job.job_name];
    if (!list) throw new Error(`prometheus.yml has a job "${job.job_name}" the test gives no targets for`);
    if (!job.static_configs) throw new Error(`job "${job.job_name}" has no static_configs to replace`);
    job.static_configs = [{ targets: [...list] }];
  }
  return stringify(config);
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
  stop(): Promise<void>;
}

/** Starts /usr/bin/prometheus on 127.0.0.1, a free port and a temporary data directory. */
export async function startPrometheus(targets: Readonly<Record<string, readonly string[]>>): Promise<PrometheusProc> {
  const dir = mkdtempSync(join(tmpdir(), "rocket-prometheus-"));
  const configFile = join(dir, "prometheus.yml");
  writeFileSync(configFile, renderPrometheusConfig(targets));
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
