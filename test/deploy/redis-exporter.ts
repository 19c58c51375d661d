import { freePort, type Proc, startProcess, until } from "../harness/index.js";

export interface RedisExporterProc {
  readonly proc: Proc;
  /** `127.0.0.1:<port>`, its Prometheus target. */
  readonly target: string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's prometheus-redis-exporter (redis_exporter, as docker-compose.yml runs it)
 * on 127.0.0.1 and a free port, scraping the Redis at `redisUrl`. Resolves once it answers.
 */
export async function startRedisExporter(redisUrl: string): Promise<RedisExporterProc> {
  const port = await freePort();
  const target = `127.0.0.1:${port}`;
  const proc = startProcess("prometheus-redis-exporter", [
    `-redis.addr=${redisUrl}`,
    `-web.listen-address=${target}`,
    // Go runtime metrics are the exporter's own, not Redis's.
    "-redis-only-metrics",
  ]);
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  await until(
    async () => {
      if (exited) throw new Error(`prometheus-redis-exporter exited:\n${proc.lines.join("\n")}`);
      return fetch(`http://${target}/metrics`).then(
        (res) => res.ok,
        () => false,
      );
    },
    10_000,
    "redis_exporter's /metrics",
    50,
  );
  return { proc, target, stop: () => proc.stop() };
}
