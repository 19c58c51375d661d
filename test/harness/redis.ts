import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.js";
import { type Proc, startProcess } from "./process.js";

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

/** Runs `redis-cli -p PORT args...`, resolving with trimmed stdout. */
export async function redisCli(port: number, args: readonly string[]): Promise<string> {
  const proc = startProcess("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args]);
  const { code } = await proc.exited;
  const out = proc.lines.filter((l) => !proc.stderr.includes(l)).join("\n");
  if (code !== 0) throw new Error(`redis-cli ${args.join(" ")} exited ${code}: ${proc.stderr.join("\n")}`);
  return out.trim();
}
