import { randomBytes } from "node:crypto";
import type { HubSecrets } from "@rocket/protocol";
import type { z } from "zod";
import { type ConfigKey, type FileConfig, fileConfigSchema, keyDocs } from "./config-schema.js";

/** One hub, resolved. */
export interface HubConfig {
  readonly path: string;
  readonly secrets: HubSecrets;
  /** Log file for this hub's lines, or "" for stdout only. */
  readonly logFile: string;
  /** Exact Origin values allowed to upgrade; undefined allows any. */
  readonly allowedOrigins: readonly string[] | undefined;
  readonly compression: boolean;
}

/** The gateway's configuration, validated once at start and frozen. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  readonly hubs: readonly HubConfig[];
  readonly redisUrl: string | undefined;
  readonly logLevel: FileConfig["LogLevel"];
  readonly metricsPort: number | undefined;
  readonly staticDir: string | undefined;
  readonly maxPayloadBytes: number;
  readonly maxDepth: number;
  readonly idleTimeoutSeconds: number;
  readonly maxBackpressureBytes: number;
  readonly publishTimeoutMs: number;
  readonly drainTimeoutMs: number;
  /** Connection cap; 0 means "derive from the open-file limit" (done by main). */
  readonly maxConnections: number;
  /** Set when the read-write secret of the default hub was generated at start (print it once). */
  readonly generatedSecret: string | undefined;
}

/** The start was refused because of configuration; `message` names every bad key. */
export class ConfigError extends Error {
  readonly code = "config_invalid";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/** `ROCKET_*` variables and the file key each overrides. */
export const envKeys: Readonly<Record<string, ConfigKey>> = Object.fromEntries(
  keyDocs().flatMap(([name, doc]) => (doc.env ? [[doc.env, name]] : [])),
);

/** TLS files are opened by uWS only when the app is created: check them at start, by name. */
const tlsKeys = ["TLSCertFile", "TLSKeyFile"] as const;

export interface ConfigSources {
  /** Path of the config file, if one was given. */
  readonly file?: string | undefined;
  /** Reads a file's text: the config file's, and the TLS files' to check they are readable (injected for tests). */
  readonly readFile: (path: string) => string;
  /** The environment (only ROCKET_* is read). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Flag values by the file key they override (see `parseCli`). */
  readonly flags: Readonly<Partial<Record<ConfigKey, unknown>>>;
  /** Where a generated secret comes from (injected for tests). */
  readonly randomSecret?: () => string;
}

/**
 * Merges defaults < file < environment < flags, validates the result once and returns it
 * frozen. Throws {@link ConfigError} naming every bad key, spelled as the user wrote it
 * (`Hubs[0].Path`, `ROCKET_PORT`, `--port`).
 */
export function loadConfig(sources: ConfigSources): Config {
  const raw: Record<string, unknown> = sources.file ? readConfigFile(sources.file, sources.readFile) : {};
  const origin = new Map<string, string>();
  for (const [name, key] of Object.entries(envKeys)) {
    const value = sources.env[name];
    if (value !== undefined && value !== "") {
      raw[key] = value;
      origin.set(key, name);
    }
  }
  for (const [name, doc] of keyDocs()) {
    const value = sources.flags[name];
    if (value !== undefined && doc.flag) {
      raw[name] = value;
      origin.set(name, doc.flag.split(" ")[0]!);
    }
  }
  const where = sources.file ? `${sources.file}: ` : "";
  const parsed = fileConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`${where}${describeIssues(parsed.error.issues, origin)}`, { cause: parsed.error });
  }
  const unreadable = tlsKeys.flatMap((name) => {
    const path = parsed.data[name];
    if (path === "") return [];
    try {
      sources.readFile(path);
      return [];
    } catch (err) {
      return [`${origin.get(name) ?? name}: cannot read ${path}: ${(err as Error).message}`];
    }
  });
  if (unreadable.length > 0) throw new ConfigError(`${where}${unreadable.join("; ")}`);
  return resolve(parsed.data, sources);
}

function readConfigFile(file: string, readFile: (path: string) => string): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    throw new ConfigError(`${file}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`${file}: must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

function describeIssues(issues: readonly z.core.$ZodIssue[], origin: ReadonlyMap<string, string>): string {
  return issues
    .map((issue) => {
      const path = issue.path;
      const top = String(path[0] ?? "");
      const name = origin.get(top) ?? formatPath(path) ?? "(config)";
      if (issue.code === "unrecognized_keys") {
        const prefix = path.length > 0 ? `${formatPath(path)}.` : "";
        return issue.keys.map((k) => `${prefix}${k}: unknown key`).join("; ");
      }
      return `${name}: ${issue.message}`;
    })
    .join("; ");
}

function formatPath(path: readonly PropertyKey[]): string | undefined {
  if (path.length === 0) return undefined;
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
}

function resolve(file: FileConfig, sources: ConfigSources): Config {
  let generatedSecret: string | undefined;
  let hubs: HubConfig[];
  if (file.Hubs.length === 0) {
    let readWrite = sources.env.ROCKET_SECRET ?? "";
    if (readWrite === "") {
      readWrite = (sources.randomSecret ?? (() => randomBytes(18).toString("base64url")))();
      generatedSecret = readWrite;
    }
    hubs = [{ path: "/", secrets: { readOnly: "", readWrite }, logFile: "", allowedOrigins: undefined, compression: false }];
  } else {
    hubs = file.Hubs.map((hub) => ({
      path: hub.Path,
      secrets: { readOnly: hub.Secrets?.ReadOnly ?? "", readWrite: hub.Secrets?.ReadWrite ?? hub.Secret ?? "" },
      logFile: hub.Log,
      allowedOrigins: hub.AllowedOrigins,
      compression: hub.Compression,
    }));
  }
  return Object.freeze({
    host: file.Host,
    port: file.Port,
    tls: file.TLSCertFile ? { certFile: file.TLSCertFile, keyFile: file.TLSKeyFile } : undefined,
    hubs: Object.freeze(hubs.map((h) => Object.freeze(h))),
    redisUrl: file.RedisUrl === "" ? undefined : file.RedisUrl,
    logLevel: file.LogLevel,
    metricsPort: file.MetricsPort,
    staticDir: file.StaticDir === "" ? undefined : file.StaticDir,
    maxPayloadBytes: file.MaxPayloadBytes,
    maxDepth: file.MaxDepth,
    idleTimeoutSeconds: file.IdleTimeoutSeconds,
    maxBackpressureBytes: file.MaxBackpressureBytes,
    publishTimeoutMs: file.PublishTimeoutMs,
    drainTimeoutMs: file.DrainTimeoutMs,
    maxConnections: file.MaxConnections,
    generatedSecret,
  });
}
