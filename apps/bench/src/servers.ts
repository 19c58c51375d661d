import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** A server process started for a comparison. */
export interface ServerProcess {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

/** The servers of one side of a comparison: one or two nodes, and their Redis in cluster mode. */
export interface ServerSet {
  readonly label: string;
  readonly urls: string[];
  readonly pids: number[];
  readonly redisPid: number | undefined;
  readonly secret: string;
  stop(): Promise<void>;
}

export type ServerKind = "rocket" | "baseline";

export interface StartOptions {
  readonly kind: ServerKind;
  readonly nodes: number;
  /** Start a Redis and run the nodes in cluster mode. */
  readonly redis: boolean;
  /** The gateway CLI (`rocket`). */
  readonly rocketBin: string;
  readonly hub: string;
  /** CPUs to pin the servers (and Redis) to with taskset, e.g. "0"; undefined leaves them to the scheduler. */
  readonly cpus: string | undefined;
  /** Rocket only: History on every channel with this Size (a config file given to the gateway). */
  readonly historySize?: number | undefined;
  /** Rocket's token secret (`--token-secret`), when clients authenticate with tokens. */
  readonly tokenSecret?: string | undefined;
  /** Rocket's API key: its HTTP API is on (`--http-publish`). */
  readonly apiKey?: string | undefined;
}

/**
 * Rocket's per-connection limits, raised out of the way of the load: a publisher of a run
 * sends thousands of publishes a second on one connection, far past any chat or game (and
 * past the defaults, which apply to token sessions). Set for every run, tokens or not, so
 * that runs differ in the authentication only.
 */
const unlimited = {
  ROCKET_MAX_COMMANDS_PER_SECOND: "1000000000",
  ROCKET_MAX_PUBLISHES_PER_SECOND: "1000000000",
  ROCKET_MAX_SUBSCRIPTIONS_PER_CONNECTION: "1000000000",
};

/** This package's CLI; the baseline runs as `rocket-bench baseline`. */
const benchBin = fileURLToPath(new URL("../bin/rocket-bench.js", import.meta.url));
/** The gateway in this monorepo, next to this package. */
export const defaultRocketBin = fileURLToPath(new URL("../../gateway/bin/rocket.js", import.meta.url));

/** A port on 127.0.0.1 that was free a moment ago (redis-server cannot take port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Starts a child process and waits for the output line `ready` matches, keeping the last
 * lines for error messages and reading everything after so that a full pipe never blocks it.
 */
function launch(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  what: string,
  cpus: string | undefined,
): Promise<{ child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    // taskset execs the command: the pid stays the server's
    const child = cpus
      ? spawn("taskset", ["-c", cpus, command, ...args], { env, stdio: ["ignore", "pipe", "pipe"] })
      : spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const tail: string[] = [];
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`${what} did not start within 15 s:\n${tail.join("\n")}`)), 15_000);
    const finish = (err: Error | undefined, line?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        child.kill("SIGKILL");
        reject(err);
      } else resolve({ child, line: line ?? "" });
    };
    const onLine = (line: string) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      if (ready.test(line)) finish(undefined, line);
    };
    // Spawned with both piped: neither is null.
    if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine);
    if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine);
    child.once("error", (err) => finish(err));
    child.once("exit", (code) => finish(new Error(`${what} exited (${code}) before it was ready:\n${tail.join("\n")}`)));
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
      child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill("SIGTERM");
    });
}

/** The environment for servers: this one's, without Rocket's or uWS's own settings. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("ROCKET_") && !k.startsWith("UWS_")) env[k] = v;
  return Object.assign(env, extra);
}

export async function startRedis(cpus: string | undefined): Promise<ServerProcess & { url: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "rocket-bench-redis-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
  const { child } = await launch("redis-server", args, process.env, /Ready to accept connections/, "redis-server", cpus);
  const stop = stopper(child);
  if (child.pid === undefined) throw new Error("redis-server started without a pid");
  return {
    pid: child.pid,
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A config file giving every channel of the default hub history, in a directory of its own; removed by `remove`. */
function historyConfigFile(size: number): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "rocket-bench-config-"));
  const path = join(dir, "rocket.json");
  writeFileSync(path, JSON.stringify({ History: { Size: size, TtlSeconds: 300 } }));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function startNode(options: StartOptions, secret: string, redisUrl: string | undefined): Promise<ServerProcess> {
  const config =
    options.kind === "rocket" && options.historySize !== undefined ? historyConfigFile(options.historySize) : undefined;
  const args =
    options.kind === "rocket"
      ? [options.rocketBin, ...(config ? [config.path] : []), "--host", "127.0.0.1", "--port", "0", "--log-level", "info"]
      : [benchBin, "baseline", "--host", "127.0.0.1", "--port", "0"];
  if (redisUrl) args.push("--redis", redisUrl);
  const tokens = options.tokenSecret === undefined ? {} : { ROCKET_TOKEN_SECRET: options.tokenSecret };
  const api = options.apiKey === undefined ? {} : { ROCKET_API_KEY: options.apiKey };
  const env = cleanEnv(options.kind === "rocket" ? { ROCKET_SECRET: secret, ...unlimited, ...tokens, ...api } : {});
  let launched: Awaited<ReturnType<typeof launch>>;
  try {
    launched = await launch(process.execPath, args, env, /"msg":"listening"/, options.kind, options.cpus);
  } catch (err) {
    config?.remove();
    throw err;
  }
  const { child, line } = launched;
  const port = (JSON.parse(line) as { port: number }).port;
  const stop = stopper(child);
  if (child.pid === undefined) throw new Error("the server started without a pid");
  return {
    pid: child.pid,
    port,
    async stop() {
      await stop();
      config?.remove();
    },
  };
}

/** Starts one side of a comparison on free loopback ports. */
export async function startServers(options: StartOptions): Promise<ServerSet> {
  const secret = randomBytes(12).toString("hex");
  const started: ServerProcess[] = [];
  let redis: (ServerProcess & { url: string }) | undefined;
  const stopAll = async () => {
    await Promise.all(started.map((s) => s.stop()));
    await redis?.stop();
  };
  try {
    if (options.redis) redis = await startRedis(options.cpus);
    for (let i = 0; i < options.nodes; i++) started.push(await startNode(options, secret, redis?.url));
  } catch (err) {
    await stopAll();
    throw err;
  }
  const hub = options.hub.startsWith("/") ? options.hub : `/${options.hub}`;
  return {
    label: options.kind,
    urls: started.map((s) => `ws://127.0.0.1:${s.port}${hub}`),
    pids: started.map((s) => s.pid),
    redisPid: redis?.pid,
    secret,
    stop: stopAll,
  };
}
