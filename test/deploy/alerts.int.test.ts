import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, type RedisProc, Resources, TestClient, until } from "../harness/index.js";
import { must } from "../harness/must.js";
import type { AlertmanagerAlert } from "./alertmanager.js";
import type { PromAlert } from "./prometheus.js";
import { type Monitoring, startCluster, startMonitoring } from "./stack.js";
import { startWebhookEndpoint, type WebhookEndpoint } from "./webhook-endpoint.js";

// The rules of deploy/prometheus/alerts.yml, in a real Prometheus scraping real gateways,
// redis_exporter and HAProxy, go pending and then firing while a fault is injected, and reach
// a real Alertmanager running deploy/alertmanager/alertmanager.yml. The gateways send their
// webhooks to a local endpoint the tests make fail or accept. The rules are loaded
// from a copy whose `for` is 1 s (the expressions are those of the file), so that the test
// takes seconds, not minutes.

const resources = new Resources();
let redis: RedisProc;
let gateways: GatewayProc[];
let monitoring: Monitoring;
let endpoint: WebhookEndpoint;

/** gateway-1 reaches Redis as an ACL user of its own, so that Redis can refuse it alone. */
const user = { name: "gateway-1", password: "gateway-1-secret" };
const createUser = (r: RedisProc) => r.cli("ACL", "SETUSER", user.name, "on", `>${user.password}`, "~*", "&*", "+@all");

const instance = (gw: GatewayProc) => `127.0.0.1:${gw.metricsPort}`;

/** Polls Prometheus until the alerts named `name` satisfy `check`; returns them. Bounded. */
async function alertsUntil(name: string, check: (alerts: PromAlert[]) => boolean, what: string): Promise<PromAlert[]> {
  let alerts: PromAlert[] = [];
  await until(
    async () => {
      alerts = (await monitoring.prometheus.alerts()).filter((a) => a.labels.alertname === name);
      return check(alerts);
    },
    60_000,
    what,
    250,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last: ${JSON.stringify(alerts.map((a) => [a.labels.instance, a.state]))}`);
  });
  return alerts;
}

/** Polls Alertmanager until it holds an alert named `name` satisfying `check`. Bounded. */
async function inAlertmanager(name: string, check: (alert: AlertmanagerAlert) => boolean, what: string) {
  let alerts: AlertmanagerAlert[] = [];
  await until(
    async () => {
      alerts = (await monitoring.alertmanager.alerts()).filter((a) => a.labels.alertname === name);
      return alerts.some(check);
    },
    60_000,
    what,
    250,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last: ${JSON.stringify(alerts.map((a) => [a.labels.instance, a.status]))}`);
  });
  return alerts.filter(check);
}

/** The value of a one-series PromQL expression now. */
async function value(expr: string): Promise<number | undefined> {
  const [first] = await monitoring.prometheus.query(expr);
  return first ? Number(first.value[1]) : undefined;
}

const allReady = () => value('sum(rocket_ready{job="rocket"})').then((v) => v === gateways.length);

beforeAll(async () => {
  endpoint = resources.add(await startWebhookEndpoint(500), (e) => e.close());
  const webhooks = { Url: endpoint.url, Secret: "webhook-secret-0123456789", Events: ["channel_occupied", "channel_vacated"] };
  const cluster = await startCluster(resources, 3, {
    beforeGateways: async (r) => void (await createUser(r)),
    redisUrl: (r, i) => (i === 0 ? `redis://${user.name}:${user.password}@127.0.0.1:${r.port}` : r.url),
    env: { ROCKET_WEBHOOKS: JSON.stringify(webhooks) },
  });
  ({ redis, gateways } = cluster);
  monitoring = await startMonitoring(resources, cluster, { forSeconds: 1 });
  await until(allReady, 30_000, "every gateway ready in Prometheus", 250);
}, 120_000);

afterAll(() => resources.close());

describe("alerts on a live cluster", () => {
  it("fire RocketWebhookEndpointFailing while the endpoint answers 500, and resolve once it answers 200", {
    timeout: 120_000,
  }, async () => {
    expect((await monitoring.prometheus.alerts()).filter((a) => a.labels.alertname === "RocketWebhookEndpointFailing")).toEqual(
      [],
    );
    // A channel's first subscriber: a channel_occupied event, which the endpoint refuses.
    const client = resources.add(await TestClient.connect(must(gateways[0]).url()), (c) => c.close());
    expect(await client.auth("read-only", "")).toEqual({ ok: true });
    expect(await client.subscribe("hooked")).toEqual({ ok: true });

    const firing = await alertsUntil(
      "RocketWebhookEndpointFailing",
      (a) => a.some((x) => x.state === "firing"),
      "RocketWebhookEndpointFailing firing",
    );
    // Only for gateways whose POSTs failed.
    const failed = (await monitoring.prometheus.query('rocket_webhook_requests_failed_total{job="rocket"} > 0')).map(
      (s) => s.metric.instance,
    );
    expect(failed.length).toBeGreaterThan(0);
    expect(firing.map((a) => a.labels.instance).filter((i) => !failed.includes(i))).toEqual([]);
    expect(endpoint.answered.get(500)).toBeGreaterThan(0);
    const delivered = await inAlertmanager(
      "RocketWebhookEndpointFailing",
      (a) => a.status.state === "active",
      "RocketWebhookEndpointFailing in Alertmanager",
    );
    expect(must(delivered[0]).annotations.panel).toBe("Cluster overview: Webhook deliveries");

    // The endpoint comes back: the next retry delivers the event, and the alert resolves.
    endpoint.answer(200);
    await alertsUntil("RocketWebhookEndpointFailing", (a) => a.length === 0, "RocketWebhookEndpointFailing resolved");
    expect(endpoint.answered.get(200)).toBeGreaterThan(0);
  });

  it("fire RocketNodeNotReady for a gateway Redis refuses, while its bus stays up", { timeout: 120_000 }, async () => {
    const [g1] = gateways as [GatewayProc];
    expect((await monitoring.prometheus.alerts()).filter((a) => a.labels.alertname === "RocketNodeNotReady")).toEqual([]);

    // Redis refuses gateway-1's SUBSCRIBE: its commands connection works, its subscriber
    // connection cannot subscribe, so it cannot be ready.
    await redis.cli("ACL", "SETUSER", user.name, "-subscribe", "-ssubscribe");
    await redis.cli("CLIENT", "KILL", "USER", user.name);

    const pending = await alertsUntil("RocketNodeNotReady", (a) => a.length > 0, "RocketNodeNotReady pending or firing");
    expect(pending.map((a) => a.labels.instance)).toEqual([instance(g1)]);
    expect(["pending", "firing"]).toContain(must(pending[0]).state);
    await alertsUntil("RocketNodeNotReady", (a) => a.some((x) => x.state === "firing"), "RocketNodeNotReady firing");
    // Not a Redis outage: the bus is up, so the Redis alert never fires. The CLIENT KILL above
    // drops the bus for a moment: an evaluation that saw that may list RocketRedisDown as
    // pending (it fires only after 30 s down) until an evaluation sees the bus up again.
    expect(await value(`rocket_bus_up{instance="${instance(g1)}"}`)).toBe(1);
    const alerts = await monitoring.prometheus.alerts();
    expect(alerts.filter((a) => a.labels.alertname === "RocketRedisDown" && a.state === "firing")).toEqual([]);
    await alertsUntil("RocketRedisDown", (a) => a.length === 0, "RocketRedisDown no longer pending");
    const delivered = await inAlertmanager(
      "RocketNodeNotReady",
      (a) => a.labels.instance === instance(g1) && a.status.state === "active",
      "RocketNodeNotReady in Alertmanager",
    );
    expect(must(delivered[0]).annotations.panel).toBe("Cluster overview: Readiness per node");

    await redis.cli("ACL", "SETUSER", user.name, "+subscribe", "+ssubscribe");
    await until(allReady, 30_000, "gateway-1 ready again", 250);
    await alertsUntil("RocketNodeNotReady", (a) => a.length === 0, "RocketNodeNotReady resolved");
  });

  it("fire RocketRedisDown on every gateway and RocketRedisServerDown while Redis is stopped", { timeout: 120_000 }, async () => {
    expect(
      (await monitoring.prometheus.alerts()).filter((a) => /^RocketRedis(Server)?Down$/.test(must(a.labels.alertname))),
    ).toEqual([]);
    await redis.kill9();

    const down = await alertsUntil(
      "RocketRedisDown",
      (a) => a.length === gateways.length && a.every((x) => x.state === "firing"),
      "RocketRedisDown firing for every gateway",
    );
    expect(down.map((a) => a.labels.instance).sort()).toEqual(gateways.map(instance).sort());
    const server = await alertsUntil(
      "RocketRedisServerDown",
      (a) => a.some((x) => x.state === "firing"),
      "RocketRedisServerDown",
    );
    expect(server.map((a) => a.labels.instance)).toEqual([monitoring.redisExporter.target]);

    // Alertmanager reports the cause once: the gateways' alerts are inhibited by Redis's.
    await inAlertmanager("RocketRedisServerDown", (a) => a.status.state === "active", "RocketRedisServerDown in Alertmanager");
    const inhibited = await inAlertmanager(
      "RocketRedisDown",
      (a) => a.status.state === "suppressed" && a.status.inhibitedBy.length > 0,
      "RocketRedisDown inhibited in Alertmanager",
    );
    expect(inhibited.length).toBeGreaterThan(0);

    await redis.restart();
    await createUser(redis);
    await until(allReady, 30_000, "every gateway ready after Redis came back", 250);
    await alertsUntil("RocketRedisDown", (a) => a.length === 0, "RocketRedisDown resolved");
  });
});
