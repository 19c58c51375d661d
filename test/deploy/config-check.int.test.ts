import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startProcess } from "../harness/index.js";
import { must } from "../harness/must.js";
import { alertmanagerYml, alertsYml, haproxyCfg, prometheusYml, readYaml, repoPath } from "./files.js";
import { haproxyServerVariables } from "./haproxy.js";
import { promtool, renderPrometheusConfig, withShortFor } from "./prometheus.js";

describe("prometheus configuration", () => {
  it("passes promtool check config, as written and as the tests render it", async () => {
    const written = await promtool(["check", "config", prometheusYml]);
    expect(written.output).toContain("SUCCESS");
    expect(written.code, written.output).toBe(0);

    const dir = mkdtempSync(join(tmpdir(), "rocket-promtool-"));
    try {
      const rules = join(dir, "alerts.yml");
      writeFileSync(rules, withShortFor(alertsYml, 1));
      const file = join(dir, "prometheus.yml");
      const targets = { rocket: ["127.0.0.1:1", "127.0.0.1:2"], haproxy: ["127.0.0.1:3"], redis: ["127.0.0.1:4"] };
      writeFileSync(file, renderPrometheusConfig(targets, { alertmanagers: ["127.0.0.1:5"], ruleFiles: [rules] }));
      const rendered = await promtool(["check", "config", file]);
      expect(rendered.code, rendered.output).toBe(0);
      expect(rendered.output).toMatch(/SUCCESS: \d+ rules found/);
      // Only `for` differs in the copy the live alert tests load.
      type Rules = { groups: { rules: Record<string, unknown>[] }[] };
      const strip = (r: Rules) => r.groups.flatMap((g) => g.rules.map(({ for: _for, ...rest }) => rest));
      expect(strip(readYaml<Rules>(rules))).toEqual(strip(readYaml<Rules>(alertsYml)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("passes promtool check rules", async () => {
    const { code, output } = await promtool(["check", "rules", alertsYml]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("has alerts that fire when they should and only then (promtool test rules)", async () => {
    const tests = repoPath("test/deploy/alerts.test.yml");
    const { code, output } = await promtool(["test", "rules", tests]);
    expect(code, output).toBe(0);

    // Every alert has a unit test, and the required ones exist.
    type Rules = { groups: { rules: { alert?: string }[] }[] };
    const alerts = readYaml<Rules>(alertsYml).groups.flatMap((g) => g.rules.map((r) => r.alert).filter(Boolean));
    type Tests = { tests: { alert_rule_test?: { alertname: string }[] }[] };
    const tested = new Set(readYaml<Tests>(tests).tests.flatMap((t) => (t.alert_rule_test ?? []).map((a) => a.alertname)));
    expect(alerts.filter((a) => !tested.has(must(a)))).toEqual([]);
    expect(alerts).toEqual(
      expect.arrayContaining([
        "RocketNodeDown",
        "RocketNodeNotReady",
        "RocketTooFewReady",
        "RocketNoneReady",
        "RocketRedisDown",
        "RocketCanaryFailing",
        "RocketPublishAckSlow",
        "RocketErrorRepliesHigh",
        "RocketSlowConsumers",
        "RocketDeliveryLatencyHigh",
        "RocketConnectionsCollapsed",
        "RocketAbnormalDisconnects",
        "RocketOpenFilesHigh",
        "RocketConnectionsNearLimit",
        "RocketUpgradesRefusedFull",
        "RocketWebhookEndpointFailing",
        "RocketWebhookBacklogGrowing",
        "RocketPresenceUpdatesFailing",
        "RocketApiErrorsHigh",
        "RocketApiUnauthorized",
        "RocketLoadBalancerDown",
        "RocketLoadBalancerNoBackends",
        "RocketRedisServerDown",
        "RocketRedisMemoryHigh",
        "RocketRedisOutputBuffersHigh",
        "RocketRedisCpuHigh",
      ]),
    );
  });
});

describe("alertmanager configuration", () => {
  it("passes amtool check-config, and routes to the documented receiver", async () => {
    const proc = startProcess("amtool", ["check-config", alertmanagerYml]);
    const { code } = await proc.exited;
    expect(code, proc.lines.join("\n")).toBe(0);
    expect(proc.lines.join("\n")).toMatch(/SUCCESS/);
    const config = readYaml<{ route: { receiver: string }; receivers: { name: string }[] }>(alertmanagerYml);
    expect(config.receivers.map((r) => r.name)).toEqual([config.route.receiver]);
    const docs = readFileSync(repoPath("docs/operations.md"), "utf8");
    expect(docs).toContain(`receiver \`${config.route.receiver}\``);
  });
});

describe("haproxy configuration", () => {
  it("passes haproxy -c with the addresses the tests give it", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, LB_BIND: "127.0.0.1:19772", LB_STATS_BIND: "127.0.0.1:18404" };
    for (const [i, name] of haproxyServerVariables().entries()) env[name] = `127.0.0.1:${20000 + i}`;
    const proc = startProcess("haproxy", ["-c", "-f", haproxyCfg], { env });
    const { code } = await proc.exited;
    expect(code, proc.lines.join("\n")).toBe(0);
    expect(proc.lines.join("\n")).not.toMatch(/WARNING|ALERT/);
  });

  it("passes haproxy -c as docker-compose.yml runs it (gateway names resolved at run time)", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of ["LB_BIND", "LB_STATS_BIND", ...haproxyServerVariables()]) delete env[name];
    const proc = startProcess("haproxy", ["-c", "-f", haproxyCfg], { env });
    const { code } = await proc.exited;
    expect(code, proc.lines.join("\n")).toBe(0);
  });

  it("is WebSocket-aware, health-checks /readyz, balances by least connections and has a stats page", () => {
    const cfg = readFileSync(haproxyCfg, "utf8");
    expect(cfg).toMatch(/^\s*timeout tunnel \d+[smh]$/m);
    expect(cfg).toMatch(/^\s*http-check send meth GET uri \/readyz ver HTTP\/1\.1 hdr Host \S+$/m);
    expect(cfg).toMatch(/^\s*http-check expect status 200$/m);
    expect(cfg).toMatch(/^\s*balance leastconn$/m);
    expect(cfg).toMatch(/^\s*stats enable$/m);
    const servers = haproxyServerVariables(cfg);
    expect(servers.length).toBeGreaterThanOrEqual(3);
    expect(servers).toEqual(servers.map((_, i) => `GATEWAY_${i + 1}`));
  });
});
