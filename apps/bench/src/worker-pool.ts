import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { FromWorker, ToWorker } from "./messages.js";

/**
 * Threads share one process's file-descriptor table; processes each get their own, which
 * is what holding tens of thousands of sockets under a per-process limit needs.
 */
export type WorkerKind = "thread" | "process";

/** The coordinator's handle on one load worker. */
export interface WorkerHandle {
  readonly index: number;
  /** The worker's process id (the coordinator's own for a thread). */
  readonly pid: number;
  post(message: ToWorker): void;
  onMessage(listener: (message: FromWorker) => void): void;
  readonly exited: Promise<number>;
  /** Stops the worker at once. */
  kill(): void;
}

const entry = new URL("./worker.js", import.meta.url);

export function spawnWorker(kind: WorkerKind, index: number): WorkerHandle {
  if (kind === "thread") {
    const worker = new Worker(entry);
    const exited = new Promise<number>((resolve) => worker.once("exit", resolve));
    worker.on("error", (err) => process.stderr.write(`rocket-bench: worker ${index}: ${err.stack ?? err}\n`));
    return {
      index,
      pid: process.pid,
      post: (message) => worker.postMessage(message),
      onMessage: (listener) => worker.on("message", listener),
      exited,
      kill: () => void worker.terminate(),
    };
  }
  const child = fork(fileURLToPath(entry), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
  return {
    index,
    pid: child.pid ?? -1,
    post: (message) => {
      if (child.connected) child.send(message);
    },
    onMessage: (listener) => child.on("message", (m) => listener(m as FromWorker)),
    exited,
    kill: () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
