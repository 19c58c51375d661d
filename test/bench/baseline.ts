import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { must } from "../harness/must.js";
import { benchBin } from "./run-bench.js";

/** A baseline server (`rocket-bench baseline`) on a free port, stopped on dispose. */
export async function startBaseline(args: readonly string[] = []): Promise<{ url: string; pid: number } & AsyncDisposable> {
  const child = spawn(process.execPath, [benchBin, "baseline", "--port", "0", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("baseline did not start")), 10_000);
    createInterface({ input: child.stdout }).on("line", (l) => {
      if (!l.includes('"listening"')) return;
      clearTimeout(timer);
      resolve(l);
    });
    child.once("exit", (code) => reject(new Error(`baseline exited ${code}`)));
  });
  const { port } = JSON.parse(line) as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    pid: must(child.pid),
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
