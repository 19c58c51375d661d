import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { requireProgram } from "./programs.js";

/** A child process started by a test, with its output kept line by line. */
export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly lines: string[];
  readonly stderr: string[];
  /** Resolves with the first line (old or new) matching `match`; rejects after `timeoutMs` or on exit. */
  waitForLine(match: RegExp | ((line: string) => boolean), timeoutMs?: number): Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal (default SIGTERM) to this process only, if it still runs. */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `command` (a path, or a program looked up on PATH: a missing one throws at once,
 * naming its Debian package) with its output kept line by line.
 */
export function startProcess(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Proc {
  const executable = command.includes("/") ? command : requireProgram(command);
  const child = spawn(executable, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<(line: string) => void>();
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const w of [...waiters]) w(line);
  });
  createInterface({ input: child.stderr }).on("line", (line) => {
    stderr.push(line);
    lines.push(line);
    for (const w of [...waiters]) w(line);
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    // A process that could not be started (not executable, say) never exits: end its waits now.
    child.on("error", (err) => {
      lines.push(`${command}: ${err.message}`);
      done = true;
      resolve({ code: null, signal: null });
    });
  });
  const proc: Proc = {
    child,
    pid: child.pid ?? -1,
    lines,
    stderr,
    exited,
    waitForLine(match, timeoutMs = 10_000) {
      const test = typeof match === "function" ? match : (l: string) => match.test(l);
      const found = lines.find(test);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(onLine);
          reject(
            new Error(`${command}: no line matching ${match} within ${timeoutMs} ms; output:\n${lines.slice(-20).join("\n")}`),
          );
        }, timeoutMs);
        const onLine = (line: string) => {
          if (!test(line)) return;
          clearTimeout(timer);
          waiters.delete(onLine);
          resolve(line);
        };
        waiters.add(onLine);
        void exited.then(() => {
          if (!waiters.has(onLine)) return;
          clearTimeout(timer);
          waiters.delete(onLine);
          reject(new Error(`${command} exited before printing ${match}; output:\n${lines.slice(-20).join("\n")}`));
        });
      });
    },
    kill(signal = "SIGTERM") {
      if (!done) child.kill(signal);
    },
    async stop(graceMs = 5000) {
      if (done) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return proc;
}

/** Collects things to stop after a test, stopped in reverse order even when the test failed. */
export class Resources {
  private readonly stops: (() => Promise<void> | void)[] = [];
  add<T>(thing: T, stop: (thing: T) => Promise<void> | void): T {
    this.stops.push(() => stop(thing));
    return thing;
  }
  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (let stop = this.stops.pop(); stop !== undefined; stop = this.stops.pop()) {
      try {
        await stop();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}
