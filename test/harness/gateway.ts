import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { until } from "./ports.js";
import { type Proc, startProcess } from "./process.js";

/** The built gateway CLI (`npm test` builds before running tests). */
export const rocketBin = fileURLToPath(new URL("../../apps/gateway/bin/rocket.js", import.meta.url));

export interface GatewayProc {
  readonly proc: Proc;
  readonly port: number;
  readonly metricsPort: number | undefined;
  /** `ws://127.0.0.1:<port><path>` */
  url(path?: string): string;
  /** `http://127.0.0.1:<port><path>` */
  http(path: string): string;
  stop(graceMs?: number): Promise<void>;
}

export interface GatewayOptions {
  /** Extra CLI arguments (config file path, flags). */
  readonly args?: readonly string[];
  /** Extra environment; ROCKET_* from the test process is not inherited. */
  readonly env?: Record<string, string>;
  /** Written to a temp file and passed as the config file. */
  readonly config?: object;
  readonly redisUrl?: string;
  /** Fixed port (for restarting on the same port); default: a free one. */
  readonly port?: number;
  /**
   * With `redisUrl`: resolve only once /readyz answers 200, that is once the gateway is
   * connected to Redis and subscribes are accepted (default). `false` for a gateway meant to
   * start without its Redis.
   */
  readonly waitReady?: boolean;
}

/**
 * Starts `rocket` on 127.0.0.1 and a free port; resolves once it logged "listening" and, in
 * cluster mode, once it is ready (see `waitReady`).
 */
export async function startGateway(options: GatewayOptions = {}): Promise<GatewayProc> {
  const args = ["--host", "127.0.0.1", "--port", String(options.port ?? 0), "--log-level", "debug"];
  if (options.config) {
    const file = join(tmpdir(), `rocket-test-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(options.config));
    args.unshift(file);
  }
  if (options.redisUrl) args.push("--redis", options.redisUrl);
  args.push(...(options.args ?? []));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("ROCKET_") && !k.startsWith("UWS_")) env[k] = v;
  Object.assign(env, { ROCKET_SECRET: "test-secret" }, options.env);
  const proc = startProcess(process.execPath, [rocketBin, ...args], { env });
  let info: { port: number; metricsPort?: number };
  try {
    info = JSON.parse(await proc.waitForLine(/"msg":"listening"/, 15_000)) as typeof info;
    const { port } = info;
    if (options.redisUrl && options.waitReady !== false) {
      await until(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).then(readStatus, () => 0)) === 200,
        15_000,
        `gateway on port ${port} ready`,
        50,
      );
    }
  } catch (err) {
    // Not handed to the test, so nobody else would stop it.
    await proc.stop();
    throw err;
  }
  return {
    proc,
    port: info.port,
    metricsPort: info.metricsPort,
    url: (path = "/") => `ws://127.0.0.1:${info.port}${path}`,
    http: (path) => `http://127.0.0.1:${info.port}${path}`,
    stop: (graceMs) => proc.stop(graceMs),
  };
}

/** The status of a response, once its body is read (so the connection can be reused). */
async function readStatus(res: Response): Promise<number> {
  await res.text();
  return res.status;
}
