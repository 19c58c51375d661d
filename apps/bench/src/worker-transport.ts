import { parentPort } from "node:worker_threads";
import type { FromWorker, ToWorker } from "./messages.js";

/** The worker's end of its link to the coordinator: a thread's port or a child process's IPC channel. */
export interface WorkerLink {
  post(message: FromWorker): void;
  onMessage(listener: (message: ToWorker) => void): void;
  /** Ends this worker (the thread, or the process). */
  exit(code: number): never;
}

export function workerLink(): WorkerLink {
  const port = parentPort;
  if (port) {
    return {
      post: (message) => port.postMessage(message),
      onMessage: (listener) => port.on("message", listener),
      exit: (code) => process.exit(code),
    };
  }
  const send = process.send?.bind(process);
  if (!send) throw new Error("the bench worker must be started by rocket-bench (as a worker thread or a forked process)");
  // a coordinator that dies leaves no one to stop us: go with it
  process.on("disconnect", () => process.exit(0));
  return {
    post: (message) => void send(message),
    onMessage: (listener) => process.on("message", (m) => listener(m as ToWorker)),
    exit: (code) => process.exit(code),
  };
}
