import type { Socket } from "node:net";
import {
  type GatewayProc,
  type RedisProc,
  type Resources,
  startGateway,
  startRedis,
  TestClient,
  until,
} from "../harness/index.js";
import { type AlertmanagerProc, startAlertmanager } from "./alertmanager.js";
import { composeGatewayEnv, composeRedisArgs } from "./files.js";
import { type HaproxyProc, startHaproxy } from "./haproxy.js";
import { type PrometheusProc, startPrometheus } from "./prometheus.js";
import { type RedisExporterProc, startRedisExporter } from "./redis-exporter.js";

/** The read-write secret the compose file gives its gateways (its default, with no .env). */
export function composeSecret(): string {
  const secret = composeGatewayEnv().ROCKET_SECRET;
  if (!secret) throw new Error("docker-compose.yml sets no ROCKET_SECRET for its gateways");
  return secret;
}

/**
 * Starts one redis-server with the settings docker-compose.yml gives it, and `count`
 * gateways on it, configured by the environment docker-compose.yml gives its gateways; only
 * what must differ on a test machine is overridden: host and port (127.0.0.1, free ports, by
 * flag), the metrics port (free) and Redis (the one started here, or `redisUrl(redis, i)`),
 * plus `env`.
 */
export async function startCluster(
  resources: Resources,
  count: number,
  options: {
    redisUrl?: (redis: RedisProc, i: number) => string;
    beforeGateways?: (redis: RedisProc) => Promise<void>;
    /** Environment on top of the compose file's (an API key, webhooks). */
    env?: Readonly<Record<string, string>>;
  } = {},
): Promise<{ redis: RedisProc; gateways: GatewayProc[] }> {
  const redis = resources.add(await startRedis(composeRedisArgs()), (r) => r.stop());
  await options.beforeGateways?.(redis);
  const env: Record<string, string> = { ...composeGatewayEnv(), ...options.env, ROCKET_METRICS_PORT: "0" };
  delete env.ROCKET_REDIS_URL;
  const gateways = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startGateway({ env, redisUrl: options.redisUrl?.(redis, i) ?? redis.url }).then((g) => resources.add(g, (x) => x.stop())),
    ),
  );
  return { redis, gateways };
}

export interface Monitoring {
  readonly lb: HaproxyProc;
  readonly redisExporter: RedisExporterProc;
  readonly alertmanager: AlertmanagerProc;
  readonly prometheus: PrometheusProc;
}

/**
 * What docker-compose.yml runs around the gateways, on their test addresses: HAProxy in front
 * of them, redis_exporter on their Redis, Alertmanager, and Prometheus scraping all of them
 * (every second; `forSeconds` shortens the alerts' `for`). Resolves once HAProxy has every
 * gateway UP and Prometheus has scraped every target.
 */
export async function startMonitoring(
  resources: Resources,
  cluster: { redis: RedisProc; gateways: readonly GatewayProc[] },
  options: { forSeconds?: number } = {},
): Promise<Monitoring> {
  const { redis, gateways } = cluster;
  const lb = resources.add(await startHaproxy(gateways.map((g) => `127.0.0.1:${g.port}`)), (h) => h.stop());
  const redisExporter = resources.add(await startRedisExporter(redis.url), (e) => e.stop());
  const alertmanager = resources.add(await startAlertmanager(), (a) => a.stop());
  await lb.waitForServers((servers) => servers.every((s) => s.status === "UP"), "all gateways UP in haproxy");
  const targets = {
    rocket: gateways.map((g) => `127.0.0.1:${g.metricsPort}`),
    haproxy: [`127.0.0.1:${lb.statsPort}`],
    redis: [redisExporter.target],
  };
  const prometheus = resources.add(
    await startPrometheus(targets, { alertmanagers: [alertmanager.target], forSeconds: options.forSeconds }),
    (p) => p.stop(),
  );
  await scrapedTargets(prometheus, Object.values(targets).flat().length);
  return { lb, redisExporter, alertmanager, prometheus };
}

export type Target = { labels: { job: string; instance: string }; health: string; lastError: string };

/** Prometheus's targets, once all `count` have been scraped successfully. */
export async function scrapedTargets(prometheus: PrometheusProc, count: number): Promise<Target[]> {
  let targets: Target[] = [];
  await until(
    async () => {
      targets = (await prometheus.api<{ activeTargets: Target[] }>("targets")).activeTargets;
      return targets.length === count && targets.every((t) => t.health === "up");
    },
    30_000,
    "every target scraped",
    200,
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(targets)}`);
  });
  return targets;
}

/** The text of a gateway's /metrics (on its metrics port when it has one). */
export async function scrape(gateway: GatewayProc): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${gateway.metricsPort ?? gateway.port}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
  return res.text();
}

/** Sum of the samples of `name` in a scrape whose labels include `labels`. */
export function sample(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** A client that stops reading: its socket is paused, so everything sent to it queues up. */
export async function stalledSubscriber(url: string, channel: string): Promise<TestClient> {
  const client = await TestClient.connect(url);
  if (!("ok" in (await client.auth("read-only", "")))) throw new Error("read-only auth refused");
  if (!("ok" in (await client.subscribe(channel)))) throw new Error("subscribe refused");
  (client.ws as unknown as { _socket: Socket })._socket.pause();
  return client;
}

/**
 * Publishes ~60 KB messages on `channel` through `publisher` until `gateway` reports a
 * slow-consumer disconnect (a `backpressure` limit breach; a stalled subscriber must exist on
 * it). Bounded: gives up after `maxBytes` published.
 */
export async function floodUntilSlowConsumer(
  gateway: GatewayProc,
  publisher: TestClient,
  channel: string,
  maxBytes = 64 * 1024 * 1024,
): Promise<void> {
  const data = { blob: "x".repeat(60_000) };
  let sent = 0;
  await until(
    async () => {
      for (let i = 0; i < 16; i++) {
        const reply = await publisher.publish(channel, "flood", data);
        if (!("ok" in reply)) throw new Error(`flood publish: ${JSON.stringify(reply)}`);
        sent += 60_000;
      }
      if (sent > maxBytes) throw new Error(`no slow-consumer disconnect after ${sent} bytes`);
      return sample(await scrape(gateway), "rocket_limit_breaches_total", { limit: "backpressure" }) > 0;
    },
    60_000,
    "a slow-consumer disconnect",
    0,
  );
}
