import { createPublicKey, randomBytes } from "node:crypto";
import type { HubSecrets, WebhookEventName } from "@rocket/protocol";
import type { z } from "zod";
import { type ConfigKey, type FileConfig, fileConfigSchema, keyDocs, minKeyLength, tokensSchema } from "./config-schema.js";

/** The algorithm a public key implies; nothing else is accepted with it. */
export type PublicKeyAlgorithm = "RS256" | "ES256" | "EdDSA";

/** Where a hub's token keys come from. */
export type TokenKeySource =
  | { readonly kind: "secret"; readonly secret: string }
  | { readonly kind: "public-key"; readonly pem: string; readonly algorithm: PublicKeyAlgorithm }
  | { readonly kind: "jwks"; readonly url: string };

/** A hub's token verification, resolved. */
export interface TokenConfig {
  readonly key: TokenKeySource;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly leewaySeconds: number;
}

/** What a channel keeps: the last `size` messages, for `ttlMs` after its last publish. */
export interface ChannelHistory {
  readonly size: number;
  readonly ttlMs: number;
}

/** A hub's history rules: a default and per-prefix rules, longest prefix first; `undefined` means none. */
export interface HistoryRules {
  readonly history: ChannelHistory | undefined;
  readonly prefixes: readonly { readonly prefix: string; readonly history: ChannelHistory | undefined }[];
}

/** A hub's Presence rules: a default and per-prefix rules, longest prefix first. */
export interface PresenceRules {
  readonly presence: boolean;
  readonly prefixes: readonly { readonly prefix: string; readonly presence: boolean }[];
}

/** Where the cluster's webhooks go, resolved. */
export interface WebhookConfig {
  readonly url: string;
  readonly secret: string;
  readonly events: readonly WebhookEventName[];
  readonly timeoutMs: number;
}

/** One hub, resolved. */
export interface HubConfig {
  readonly path: string;
  readonly secrets: HubSecrets;
  /** Log file for this hub's lines, or "" for stdout only. */
  readonly logFile: string;
  /** Exact Origin values allowed to upgrade; undefined allows any. */
  readonly allowedOrigins: readonly string[] | undefined;
  readonly compression: boolean;
  readonly history: HistoryRules;
  /** Presence rules; undefined: no channel of the hub has Presence. */
  readonly presence?: PresenceRules | undefined;
  /** Token verification; undefined: token auth is refused with invalid_credentials. */
  readonly tokens?: TokenConfig | undefined;
  /** Secrets refused: only tokens authenticate. Default false. */
  readonly tokenOnly?: boolean | undefined;
}

/** Per-connection and per-node abuse limits (see config-schema.ts for each). */
export interface Limits {
  readonly commandsPerSecond: number;
  readonly publishesPerSecond: number;
  readonly subscriptionsPerConnection: number;
  readonly authFailures: number;
  /** 0: no cap. */
  readonly connectionsPerSecond: number;
  /** 0: channels are never forgotten. */
  readonly channelTtlSeconds: number;
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
  readonly limits: Limits;
  /** Keys of the HTTP API; empty: the API is off. */
  readonly apiKeys: readonly string[];
  /** Where webhooks go; undefined: none are sent. */
  readonly webhooks: WebhookConfig | undefined;
  /** Set when the read-write secret of the default hub was generated at start (print it once). */
  readonly generatedSecret: string | undefined;
  /** Set when the token secret of the default hub was generated at start. */
  readonly generatedTokenSecret: string | undefined;
  /** True when the file names no hubs: the one hub `/` comes from defaults and ROCKET_* variables. */
  readonly defaultHub: boolean;
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
  /** Generate no secrets: the default hub gets only what the environment gives (for `rocket token`). */
  readonly noGeneratedSecrets?: boolean;
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
      const [flag = doc.flag] = doc.flag.split(" ");
      origin.set(name, flag);
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
  const defaultTokens = parsed.data.Hubs.length === 0 ? defaultHubTokens(sources.env) : undefined;
  const problems: string[] = [];
  const publicKey = (file: string, name: string): TokenKeySource | undefined => {
    try {
      return readPublicKey(file, sources.readFile);
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const tokens = (input: z.output<typeof tokensSchema> | undefined, name: (key: string) => string) =>
    input === undefined ? undefined : resolveTokens(input, (file) => publicKey(file, name("PublicKeyFile")));
  const hubTokens = parsed.data.Hubs.map((hub, i) => tokens(hub.Tokens, (k) => `Hubs[${i}].Tokens.${k}`));
  const fromEnv = tokens(defaultTokens?.tokens, () => "ROCKET_TOKEN_PUBLIC_KEY_FILE");
  const apiKey = sources.env.ROCKET_API_KEY ?? "";
  if (apiKey !== "" && apiKey.length < minKeyLength) problems.push(`ROCKET_API_KEY: must be at least ${minKeyLength} characters`);
  if (problems.length > 0) throw new ConfigError(`${where}${problems.join("; ")}`);
  return resolve(parsed.data, sources, hubTokens, { tokens: fromEnv, tokenOnly: defaultTokens?.tokenOnly ?? false });
}

/** Environment variables of the default hub's token settings, with the key each stands for. */
const tokenEnv = {
  ROCKET_TOKEN_SECRET: "Secret",
  ROCKET_TOKEN_PUBLIC_KEY_FILE: "PublicKeyFile",
  ROCKET_TOKEN_JWKS_URL: "JwksUrl",
  ROCKET_TOKEN_ISSUER: "Issuer",
  ROCKET_TOKEN_AUDIENCE: "Audience",
  ROCKET_TOKEN_LEEWAY_SECONDS: "LeewaySeconds",
} as const;

/**
 * The default hub's `Tokens` and `TokenOnly` from ROCKET_TOKEN_* (undefined tokens: none
 * given), validated with the file's schema; errors name the variables.
 */
function defaultHubTokens(env: ConfigSources["env"]): { tokens: z.output<typeof tokensSchema> | undefined; tokenOnly: boolean } {
  const raw: Record<string, string> = {};
  const variable = new Map<string, string>();
  for (const [name, key] of Object.entries(tokenEnv)) {
    const value = env[name];
    if (value !== undefined && value !== "") {
      raw[key] = value;
      variable.set(key, name);
    }
  }
  const only = env.ROCKET_TOKEN_ONLY ?? "";
  if (only !== "" && only !== "true" && only !== "false") throw new ConfigError("ROCKET_TOKEN_ONLY: must be true or false");
  const tokenOnly = only === "true";
  const keyGiven = raw.Secret !== undefined || raw.PublicKeyFile !== undefined || raw.JwksUrl !== undefined;
  if (!keyGiven) {
    const stray = [...variable.values()];
    if (stray.length > 0)
      throw new ConfigError(`${stray.join(", ")}: set ROCKET_TOKEN_SECRET, _PUBLIC_KEY_FILE or _JWKS_URL too`);
    return { tokens: undefined, tokenOnly };
  }
  const parsed = tokensSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? "");
      const name = variable.get(key) ?? "ROCKET_TOKEN_*";
      return `${name}: ${issue.message}`;
    });
    throw new ConfigError(issues.join("; "), { cause: parsed.error });
  }
  return { tokens: parsed.data, tokenOnly };
}

function resolveTokens(
  tokens: z.output<typeof tokensSchema>,
  publicKey: (file: string) => TokenKeySource | undefined,
): TokenConfig | undefined {
  let key: TokenKeySource | undefined;
  if (tokens.Secret !== undefined) key = { kind: "secret", secret: tokens.Secret };
  else if (tokens.PublicKeyFile !== undefined) key = publicKey(tokens.PublicKeyFile);
  else if (tokens.JwksUrl !== undefined) key = { kind: "jwks", url: tokens.JwksUrl };
  if (key === undefined) return undefined;
  return { key, issuer: tokens.Issuer, audience: tokens.Audience, leewaySeconds: tokens.LeewaySeconds };
}

/** Reads a PEM public key and the one algorithm its type implies. */
function readPublicKey(file: string, readFile: (path: string) => string): TokenKeySource {
  let pem: string;
  try {
    pem = readFile(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  let type: string | undefined;
  let curve: string | undefined;
  try {
    const key = createPublicKey(pem);
    type = key.asymmetricKeyType;
    curve = key.asymmetricKeyDetails?.namedCurve;
  } catch (err) {
    throw new Error(`${file} holds no PEM public key: ${(err as Error).message}`);
  }
  if (type === "rsa") return { kind: "public-key", pem, algorithm: "RS256" };
  if (type === "ec" && curve === "prime256v1") return { kind: "public-key", pem, algorithm: "ES256" };
  if (type === "ed25519") return { kind: "public-key", pem, algorithm: "EdDSA" };
  throw new Error(
    `${file}: a ${type ?? "unknown"}${curve ? ` (${curve})` : ""} key; use RSA (RS256), P-256 (ES256) or Ed25519 (EdDSA)`,
  );
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

type FileHistory = FileConfig["History"];

function channelHistory(history: FileHistory): ChannelHistory | undefined {
  return history === undefined || history.Size === 0 ? undefined : { size: history.Size, ttlMs: history.TtlSeconds * 1000 };
}

function historyRules(history: FileHistory, channels: FileConfig["Channels"]): HistoryRules {
  const prefixes = (channels ?? [])
    .flatMap((rule) => (rule.History === undefined ? [] : [{ prefix: rule.Prefix, history: channelHistory(rule.History) }]))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  return { history: channelHistory(history), prefixes };
}

function presenceRules(presence: boolean | undefined, channels: FileConfig["Channels"]): PresenceRules {
  const prefixes = (channels ?? [])
    .flatMap((rule) => (rule.Presence === undefined ? [] : [{ prefix: rule.Prefix, presence: rule.Presence }]))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  return { presence: presence ?? false, prefixes };
}

function resolve(
  file: FileConfig,
  sources: ConfigSources,
  hubTokens: readonly (TokenConfig | undefined)[],
  defaultHub: { readonly tokens: TokenConfig | undefined; readonly tokenOnly: boolean },
): Config {
  let generatedSecret: string | undefined;
  let generatedTokenSecret: string | undefined;
  let hubs: HubConfig[];
  if (file.Hubs.length === 0) {
    const random = sources.randomSecret ?? (() => randomBytes(18).toString("base64url"));
    let readWrite = sources.env.ROCKET_SECRET ?? "";
    if (readWrite === "" && !sources.noGeneratedSecrets) {
      readWrite = random();
      generatedSecret = readWrite;
    }
    let tokens = defaultHub.tokens;
    if (tokens === undefined && !sources.noGeneratedSecrets) {
      // Two generated secrets joined: long enough for HS256 whatever `random` returns.
      generatedTokenSecret = `${random()}${random()}`.padEnd(32, "0");
      tokens = {
        key: { kind: "secret", secret: generatedTokenSecret },
        issuer: undefined,
        audience: undefined,
        leewaySeconds: 5,
      };
    }
    hubs = [
      {
        path: "/",
        secrets: { readOnly: "", readWrite },
        logFile: "",
        allowedOrigins: undefined,
        compression: false,
        history: historyRules(file.History, file.Channels),
        presence: presenceRules(file.Presence, file.Channels),
        tokens,
        tokenOnly: defaultHub.tokenOnly,
      },
    ];
  } else {
    hubs = file.Hubs.map((hub, i) => ({
      path: hub.Path,
      secrets: { readOnly: hub.Secrets?.ReadOnly ?? "", readWrite: hub.Secrets?.ReadWrite ?? hub.Secret ?? "" },
      logFile: hub.Log,
      allowedOrigins: hub.AllowedOrigins,
      compression: hub.Compression,
      history: historyRules(hub.History ?? file.History, hub.Channels ?? file.Channels),
      presence: presenceRules(hub.Presence ?? file.Presence, hub.Channels ?? file.Channels),
      tokens: hubTokens[i],
      tokenOnly: hub.TokenOnly,
    }));
  }
  const apiKey = sources.env.ROCKET_API_KEY || undefined;
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
    limits: Object.freeze({
      commandsPerSecond: file.MaxCommandsPerSecond,
      publishesPerSecond: file.MaxPublishesPerSecond,
      subscriptionsPerConnection: file.MaxSubscriptionsPerConnection,
      authFailures: file.MaxAuthFailures,
      connectionsPerSecond: file.MaxConnectionsPerSecond,
      channelTtlSeconds: file.ChannelTtlSeconds,
    }),
    apiKeys: Object.freeze([...new Set([...file.ApiKeys, ...(apiKey === undefined ? [] : [apiKey])])]),
    webhooks:
      file.Webhooks === undefined
        ? undefined
        : Object.freeze({
            url: file.Webhooks.Url,
            secret: file.Webhooks.Secret,
            events: Object.freeze([...new Set(file.Webhooks.Events)]),
            timeoutMs: file.Webhooks.TimeoutMs,
          }),
    generatedSecret,
    generatedTokenSecret,
    defaultHub: file.Hubs.length === 0,
  });
}
