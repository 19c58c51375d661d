import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** Absolute path of a file of the repository, from its path relative to the root. */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}

export const composeFile = repoPath("docker-compose.yml");
export const haproxyCfg = repoPath("deploy/haproxy/haproxy.cfg");
export const prometheusYml = repoPath("deploy/prometheus/prometheus.yml");
export const alertsYml = repoPath("deploy/prometheus/alerts.yml");
export const alertmanagerYml = repoPath("deploy/alertmanager/alertmanager.yml");
export const dashboardsDir = repoPath("deploy/grafana/dashboards");

/** Reads a YAML file (with `<<` merge keys, as Compose reads them). */
export function readYaml<T = unknown>(path: string): T {
  return parse(readFileSync(path, "utf8"), { merge: true }) as T;
}

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  ports?: (string | number)[];
  expose?: (string | number)[];
  command?: string | string[];
  depends_on?: string[] | Record<string, unknown>;
  [key: string]: unknown;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
}

export function readCompose(): ComposeFile {
  return readYaml<ComposeFile>(composeFile);
}

/**
 * Compose's interpolation of `${NAME}`, `${NAME:-default}` and `${NAME-default}` against
 * `vars` (empty by default, so defaults apply: what `docker compose up` does with no .env).
 */
export function interpolate(value: string, vars: Readonly<Record<string, string>> = {}): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (_m, name: string, op?: string, def?: string) => {
    const v = vars[name];
    if (op === ":-") return v === undefined || v === "" ? (def ?? "") : v;
    if (op === "-") return v === undefined ? (def ?? "") : v;
    return v ?? "";
  });
}

/** A service's environment as a map, interpolated. */
export function serviceEnv(service: ComposeService): Record<string, string> {
  const env: Record<string, string> = {};
  const raw = service.environment ?? {};
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const i = entry.indexOf("=");
      env[i < 0 ? entry : entry.slice(0, i)] = i < 0 ? "" : interpolate(entry.slice(i + 1));
    }
  } else {
    for (const [k, v] of Object.entries(raw)) env[k] = v === null ? "" : interpolate(String(v));
  }
  return env;
}

/** The compose services that run the gateway image (built from deploy/Dockerfile). */
export function gatewayServices(compose: ComposeFile): [string, ComposeService][] {
  return Object.entries(compose.services).filter(([, s]) => {
    const build = typeof s.build === "string" ? { context: s.build } : s.build;
    return build?.dockerfile === "deploy/Dockerfile";
  });
}

/**
 * The environment the compose file gives a gateway, for starting test gateways "as compose
 * would": listening addresses and Redis are then set by the test (flags win over environment).
 */
export function composeGatewayEnv(): Record<string, string> {
  const first = gatewayServices(readCompose())[0];
  if (!first) throw new Error("docker-compose.yml has no gateway service");
  return serviceEnv(first[1]);
}

/**
 * The settings docker-compose.yml gives redis-server (its command after the program name),
 * for starting the test Redis as compose would.
 */
export function composeRedisArgs(): string[] {
  const command = readCompose().services.redis?.command;
  if (!Array.isArray(command) || command[0] !== "redis-server") throw new Error("docker-compose.yml runs no redis-server");
  return command.slice(1);
}
