import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProc, Resources, TestClient, until } from "../harness/index.js";
import { must } from "../harness/must.js";
import { api, apiKey } from "../server/helpers.js";
import { dataPanels, loadDashboards, queryVariables, substitute, variableQuery } from "./dashboards.js";
import { alertsYml, readYaml, repoPath } from "./files.js";
import { type HaproxyProc, haproxyServerVariables } from "./haproxy.js";
import { type PrometheusProc, promtool } from "./prometheus.js";
import type { RedisExporterProc } from "./redis-exporter.js";
import {
  composeSecret,
  floodUntilSlowConsumer,
  type Monitoring,
  scrape,
  scrapedTargets,
  stalledSubscriber,
  startCluster,
  startMonitoring,
} from "./stack.js";

// A live cluster as docker-compose.yml runs it (Redis, its gateways, HAProxy, redis_exporter,
// Alertmanager), scraped by a real Prometheus every second while clients publish, and the
// dashboards' and alerts' PromQL run against it.

const resources = new Resources();
let gateways: GatewayProc[];
let lb: HaproxyProc;
let redisExporter: RedisExporterProc;
let prometheus: PrometheusProc;
let monitoring: Monitoring;
let traffic: { stop(): Promise<void> };

/** What Grafana puts for its built-in variables at Prometheus's 1 s scrape interval. */
const grafanaBuiltins = { __rate_interval: "5s", __interval: "1s", __range: "1m" };

/**
 * Traffic on every gateway: subscribers and publishers on "room" (plus one through HAProxy),
 * a publish ticking every 100 ms per gateway, one error reply and one disconnect per gateway,
 * an HTTP API publish and an unauthorized API request per gateway, and one stalled subscriber
 * per gateway flooded until it is dropped as a slow consumer.
 */
async function startTraffic(): Promise<{ stop(): Promise<void> }> {
  const secret = composeSecret();
  const publishers: TestClient[] = [];
  for (const gw of gateways) {
    const sub = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    expect(await sub.auth("read-only", "")).toEqual({ ok: true });
    expect(await sub.subscribe("room")).toEqual({ ok: true });
    const pub = resources.add(await TestClient.connect(gw.url()), (c) => c.close());
    expect(await pub.auth("read-write", secret)).toEqual({ ok: true });
    expect(await pub.subscribe("room")).toEqual({ ok: true });
    publishers.push(pub);
    // An error reply: nobody ever created this channel.
    expect(await pub.publish("never-created", "e", {})).toEqual({ err: "invalid_channel" });
    // A clean close (1000).
    const leaver = await TestClient.connect(gw.url());
    expect(await leaver.request({ disconnect: true })).toEqual({ ok: true });
    await leaver.closed;
    // The HTTP API: a publish, and a request with a key that is not one of ApiKeys.
    expect(await api(gw, "POST", "/api/publish", { channel: "room", event: "api", data: {} })).toEqual({
      status: 200,
      body: { ok: true },
    });
    expect((await api(gw, "GET", "/api/channels", undefined, "not-the-api-key-0123456789")).status).toBe(401);
  }
  const viaLb = resources.add(await TestClient.connect(lb.url()), (c) => c.close());
  expect(await viaLb.auth("read-only", "")).toEqual({ ok: true });
  expect(await viaLb.subscribe("room")).toEqual({ ok: true });

  for (const [i, gw] of gateways.entries()) {
    resources.add(await stalledSubscriber(gw.url(), "firehose"), (c) => c.close());
    await floodUntilSlowConsumer(gw, must(publishers[i]), "firehose");
  }

  let running = true;
  let n = 0;
  const loops = publishers.map(async (pub) => {
    while (running) {
      const reply = await pub.publish("room", "tick", { n: n++ });
      if (!("ok" in reply)) throw new Error(`tick: ${JSON.stringify(reply)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Every target: the gateways, HAProxy and redis_exporter. */
const targetCount = () => gateways.length + 2;

beforeAll(async () => {
  // With the HTTP API on, as a cluster serving backends runs it.
  const cluster = await startCluster(resources, haproxyServerVariables().length, { env: { ROCKET_API_KEY: apiKey } });
  gateways = cluster.gateways;
  monitoring = await startMonitoring(resources, cluster);
  ({ lb, redisExporter, prometheus } = monitoring);
  traffic = await startTraffic();
}, 120_000);

afterAll(async () => {
  await traffic?.stop();
  await resources.close();
});

describe("Prometheus scraping a live cluster", () => {
  it("scrapes every gateway, HAProxy and redis_exporter, and sends alerts to Alertmanager", async () => {
    const expected = [
      ...gateways.map((g) => `rocket 127.0.0.1:${g.metricsPort}`),
      `haproxy 127.0.0.1:${lb.statsPort}`,
      `redis ${redisExporter.target}`,
    ];
    const targets = await scrapedTargets(prometheus, targetCount());
    expect(targets.map((t) => `${t.labels.job} ${t.labels.instance}`).sort()).toEqual(expected.sort());
    expect(targets.filter((t) => t.health !== "up")).toEqual([]);
    const { activeAlertmanagers } = await prometheus.api<{ activeAlertmanagers: { url: string }[] }>("alertmanagers");
    expect(activeAlertmanagers.map((a) => a.url)).toEqual([`http://${monitoring.alertmanager.target}/api/v2/alerts`]);
  });

  it("answers every dashboard panel's query with data, for every node", async () => {
    // The node detail's instance variable, as Grafana would fill it.
    const node = must(loadDashboards().find((d) => d.file === "node-detail.json")).dashboard;
    const [variable] = queryVariables(node);
    const m = /^label_values\((\w+), (\w+)\)$/.exec(variableQuery(must(variable)));
    expect(m).not.toBeNull();
    const instances = await prometheus.api<string[]>(`label/${must(m)[2]}/values?match[]=${must(m)[1]}`);
    expect(instances.sort()).toEqual(gateways.map((g) => `127.0.0.1:${g.metricsPort}`).sort());

    const queries: { where: string; expr: string }[] = [];
    for (const { file, dashboard } of loadDashboards()) {
      const variables = queryVariables(dashboard).map((v) => v.name);
      const bindings = variables.includes("instance") ? instances.map((instance) => ({ instance })) : [{}];
      for (const panel of dataPanels(dashboard)) {
        for (const target of panel.targets ?? []) {
          for (const b of bindings) {
            queries.push({
              where: `${file} "${panel.title}" ${target.refId}${"instance" in b ? ` @ ${b.instance}` : ""}`,
              expr: substitute(must(target.expr), { ...grafanaBuiltins, ...b }),
            });
          }
        }
      }
    }
    expect(queries.length).toBeGreaterThan(50);

    // Polls until every query returns at least one finite sample (rates need a few scrapes).
    let empty: string[] = [];
    await until(
      async () => {
        const results = await Promise.all(queries.map((q) => prometheus.query(q.expr)));
        empty = queries
          .filter((_, i) => !must(results[i]).some((s) => Number.isFinite(Number(s.value[1]))))
          .map((q) => `${q.where}: ${q.expr}`);
        return empty.length === 0;
      },
      20_000,
      "data for every panel",
      1000,
    ).catch(() => undefined);
    expect(empty).toEqual([]);
  }, 45_000);

  it("loads every alerting rule, and evaluates it without error", async () => {
    type Rules = { groups: { name: string; rules: { name: string; type: string; health: string; lastError?: string }[] }[] };
    const written = readYaml<{ groups: { rules: { alert?: string }[] }[] }>(alertsYml)
      .groups.flatMap((g) => g.rules.map((r) => r.alert))
      .filter(Boolean)
      .sort();
    let loaded: Rules["groups"][number]["rules"] = [];
    await until(
      async () => {
        loaded = (await prometheus.api<Rules>("rules")).groups.flatMap((g) => g.rules);
        return loaded.length === written.length && loaded.every((r) => r.health === "ok");
      },
      15_000,
      "rules evaluated",
      500,
    ).catch(() => undefined);
    expect(loaded.map((r) => r.name).sort()).toEqual(written);
    expect(loaded.filter((r) => r.health !== "ok")).toEqual([]);
    expect(loaded.every((r) => r.type === "alerting")).toBe(true);
  });

  it("finds nothing to fix in any gateway's /metrics (promtool check metrics)", async () => {
    for (const gw of gateways) {
      const { code, output } = await promtool(["check", "metrics"], await scrape(gw));
      expect(output, `127.0.0.1:${gw.metricsPort}`).toBe("");
      expect(code).toBe(0);
    }
  });

  it("labels by hub, command and code only: never a channel or a client", async () => {
    const text = await scrape(must(gateways[0]));
    const labels = new Set(
      [...text.matchAll(/^rocket_\w+\{([^}]*)\}/gm)].flatMap((m) => [...must(m[1]).matchAll(/(\w+)="/g)].map((l) => must(l[1]))),
    );
    // rocket_build_info's version/nodejs, histogram buckets' le, and the bounded sets of the protocol
    // (method and result: rocket_auth_total's secret|token and ok|invalid|expired; endpoint: the
    // HTTP API's fixed list).
    const allowed = new Set([
      "hub",
      "command",
      "code",
      "limit",
      "reason",
      "method",
      "result",
      "endpoint",
      "le",
      "version",
      "nodejs",
    ]);
    expect([...labels].filter((l) => !allowed.has(l))).toEqual([]);
    expect(labels).toContain("hub");
    expect(text).not.toMatch(/room|firehose|never-created/);
  });

  it("answers the example queries of docs/operations.md", async () => {
    const docs = readFileSync(repoPath("docs/operations.md"), "utf8");
    const examples = [...docs.matchAll(/```promql\n([\s\S]*?)```/g)]
      .flatMap((m) => must(m[1]).split("\n"))
      .filter((line) => line.trim() !== "" && !line.startsWith("#"));
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const expr of examples) expect((await prometheus.query(expr)).length, expr).toBeGreaterThan(0);
  });

  it("documents every rocket_ metric in docs/operations.md, and documents no other", async () => {
    const text = await scrape(must(gateways[0]));
    const exported = [...text.matchAll(/^# TYPE (rocket_\w+) /gm)].map((m) => must(m[1])).sort();
    const docs = readFileSync(repoPath("docs/operations.md"), "utf8");
    const section = /^## Metrics\n([\s\S]*?)^## /m.exec(docs)?.[1] ?? "";
    const documented = [...new Set([...section.matchAll(/`(rocket_[a-z_]+)/g)].map((m) => must(m[1])))]
      .map((name) => name.replace(/_(bucket|sum|count)$/, ""))
      .filter((name, i, all) => all.indexOf(name) === i)
      .sort();
    expect(documented).toEqual(exported);
  });
});
