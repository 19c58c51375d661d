import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, release, totalmem } from "node:os";

/** The machine and software a run was made on, for the JSON report. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly uws: string | undefined;
  readonly openFileLimit: string | undefined;
  readonly loadAverage: readonly number[];
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  let uws: string | undefined;
  try {
    const require = createRequire(import.meta.url);
    uws = (require("uWebSockets.js/package.json") as { version: string }).version;
  } catch {
    uws = undefined;
  }
  let openFileLimit: string | undefined;
  try {
    openFileLimit = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.slice(1).join("/");
  } catch {
    openFileLimit = undefined;
  }
  return {
    cpuModel: list[0]?.model ?? "unknown",
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    kernel: release(),
    node: process.version,
    uws,
    openFileLimit,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
