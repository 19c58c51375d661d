import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { type Proc, startProcess } from "./process.js";
import { requireProgram } from "./programs.js";

export interface RedisProc {
  readonly port: number;
  readonly url: string;
  proc: Proc;
  /** Runs redis-cli against this server and returns its output. */
  cli(...args: string[]): Promise<string>;
  /** SIGKILL, no shutdown save; the signal is sent before this returns its promise. */
  kill9(): Promise<void>;
  /** SIGSTOP: the server hangs with every connection open (a hung, not a dead, Redis). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** Starts a new redis-server on the same port (after kill9/stop). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a real redis-server on 127.0.0.1 and a free port, without persistence. */
export async function startRedis(extraArgs: readonly string[] = []): Promise<RedisProc> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "rocket-redis-"));
  const launch = async () => {
    const proc = startProcess("redis-server", [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      ...extraArgs,
    ]);
    await proc.waitForLine(/Ready to accept connections/, 10_000);
    return proc;
  };
  const redis: RedisProc = {
    port,
    url: `redis://127.0.0.1:${port}`,
    proc: await launch(),
    cli: (...args) => redisCli(port, args),
    async kill9() {
      redis.proc.kill("SIGKILL");
      await redis.proc.exited;
    },
    pause() {
      redis.proc.kill("SIGSTOP");
    },
    resume() {
      redis.proc.kill("SIGCONT");
    },
    async restart() {
      redis.proc = await launch();
    },
    stop() {
      // A stopped process would only see SIGTERM once continued.
      redis.proc.kill("SIGCONT");
      return redis.proc.stop();
    },
  };
  return redis;
}

/**
 * Runs `redis-cli -p PORT args...`, resolving with trimmed stdout. Read whole, once the
 * output is closed: a process's exit can come before the last of its output has been read,
 * and a reply read short (empty) misleads every wait built on it.
 */
export function redisCli(port: number, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      requireProgram("redis-cli"),
      ["-h", "127.0.0.1", "-p", String(port), ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`redis-cli ${args.join(" ")} failed (${err.code ?? err.signal}): ${stderr.trim()}`));
        else resolve(stdout.trim());
      },
    );
  });
}
