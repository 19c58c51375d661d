import { parseRedisUrl, RedisUrlError } from "@rocket/bus";
import { webhookEvents } from "@rocket/protocol";
import { z } from "zod";

/**
 * The configuration file: webrocket v0.2's keys exactly as its `example.json` spells them,
 * plus Rocket's own (also PascalCase, units in the name). Unknown keys are errors.
 */
const secretsSchema = z.strictObject({
  /** Secret for read-only access; empty grants read-only to anyone. Default "". */
  ReadOnly: z.string().default(""),
  /** Secret for read-write access; empty grants read-write to anyone. Default "". */
  ReadWrite: z.string().default(""),
});

/** The shortest HMAC secret accepted for tokens: 256 bits, as RFC 7518 asks of HS256 keys. */
export const minTokenSecretLength = 32;

/** Loopback hosts, where a JWKS may be fetched over plain http (development). */
const loopbackHosts = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

/** A URL string that `problem` accepts (it returns why not, or undefined). */
function urlString(problem: (url: URL) => string | undefined) {
  return z.string().superRefine((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      ctx.addIssue({ code: "custom", message: "not a URL" });
      return;
    }
    const message = problem(url);
    if (message !== undefined) ctx.addIssue({ code: "custom", message });
  });
}

/** A JWKS URL: https, or http to a loopback address. */
export const jwksUrl = urlString((url) =>
  url.protocol === "https:" || (url.protocol === "http:" && loopbackHosts.test(url.hostname))
    ? undefined
    : "must be https:// (http:// only to a loopback address, for development)",
);

/**
 * How a hub verifies tokens: exactly one key source (an HMAC secret, a public key file, or a
 * JWKS URL), plus optional claims every token must carry.
 */
export const tokensSchema = z
  .strictObject({
    /** HMAC secret: tokens signed with HS256, HS384 or HS512. At least 32 characters. */
    Secret: z
      .string()
      .min(minTokenSecretLength, `must be at least ${minTokenSecretLength} characters (a 256-bit HMAC key)`)
      .optional(),
    /** PEM public key (RSA: RS256, P-256: ES256, Ed25519: EdDSA), read at start. */
    PublicKeyFile: z.string().min(1).optional(),
    /** JWKS endpoint: keys fetched, cached, fetched again on an unknown `kid` (RS256, ES256, EdDSA). */
    JwksUrl: jwksUrl.optional(),
    /** Required `iss` claim. Default: not checked. */
    Issuer: z.string().min(1).optional(),
    /** Required `aud` claim (the token's `aud` must hold it). Default: not checked. */
    Audience: z.string().min(1).optional(),
    /** Clock skew allowed on `exp` and `nbf`, seconds (0 to 300). Default 5. */
    LeewaySeconds: z.coerce.number().int().min(0).max(300).default(5),
  })
  .superRefine((tokens, ctx) => {
    const given = (["Secret", "PublicKeyFile", "JwksUrl"] as const).filter((k) => tokens[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: "custom",
        path: given.length > 1 ? [given[1] as string] : [],
        message: "give exactly one of Secret, PublicKeyFile and JwksUrl",
      });
    }
  });

const hubPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=@%/-]*$/, "must start with / and hold only URL path characters (no ':', '?' or '#')");

/** What a channel keeps of its messages for recovery and `history`. */
const historySchema = z.strictObject({
  /** Messages kept per channel; 0 turns history off. */
  Size: z.number().int().min(0).max(1_000_000),
  /** They are kept this long after the channel's last publish. Default 300. */
  TtlSeconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 24 * 3600)
    .default(300),
});

/**
 * History and Presence for the channels whose names start with `Prefix`: for each of the two,
 * the longest matching prefix that says something about it wins.
 */
const channelRuleSchema = z
  .strictObject({
    Prefix: z.string().min(1),
    History: historySchema.optional(),
    /** `__join`/`__leave` events and the member list for these channels. */
    Presence: z.boolean().optional(),
  })
  .refine((rule) => rule.History !== undefined || rule.Presence !== undefined, {
    message: "give History, Presence or both",
  });

/** The shortest API key and webhook secret accepted: long enough not to be guessed. */
export const minKeyLength = 16;

/** An http(s) URL. */
const httpUrl = urlString((url) =>
  url.protocol === "https:" || url.protocol === "http:" ? undefined : "must be http:// or https://",
);

/** Where the cluster's webhooks go. */
const webhooksSchema = z.strictObject({
  /** Endpoint every batch of events is POSTed to. */
  Url: httpUrl,
  /** HMAC-SHA256 key of the `X-Rocket-Signature` header. At least 16 characters. */
  Secret: z.string().min(minKeyLength, `must be at least ${minKeyLength} characters`),
  /** Which events are sent. Default: all four. */
  Events: z
    .array(z.enum(webhookEvents))
    .min(1)
    .default([...webhookEvents]),
  /** Longest wait for the endpoint's answer, ms. Default 5000. */
  TimeoutMs: z.number().int().min(100).max(60_000).default(5000),
});

const hubSchema = z.strictObject({
  /** URL path of the hub's WebSocket endpoint, e.g. "/echo". */
  Path: hubPath,
  /** webrocket's codec name; only JSON exists. */
  Codec: z.enum(["JSON", "json"]).default("JSON"),
  /** File that receives this hub's log lines (as well as stdout). Default: none. */
  Log: z.string().default(""),
  /** Per-access-level secrets. */
  Secrets: secretsSchema.optional(),
  /** webrocket 0.1's single secret: the read-write secret. */
  Secret: z.string().optional(),
  /** Origins allowed to open a WebSocket on this hub (exact match, e.g. "https://app.example"). Default: any. */
  AllowedOrigins: z.array(z.string().min(1)).optional(),
  /** Negotiate permessage-deflate with clients that offer it. Costs CPU per message. Default false. */
  Compression: z.boolean().default(false),
  /** History of this hub's channels. Default: the top-level History (none). */
  History: historySchema.optional(),
  /** History and Presence per channel prefix, over `History` and `Presence`. Default: the top-level Channels (none). */
  Channels: z.array(channelRuleSchema).optional(),
  /** `__join`/`__leave` events and the member list on this hub's channels. Default: the top-level Presence (false). */
  Presence: z.boolean().optional(),
  /** Token verification (`{"auth":{"token":JWT}}`). Default: none (token auth refused). */
  Tokens: tokensSchema.optional(),
  /** Refuse secrets: only tokens authenticate (secret auth gets invalid_credentials). Default false. */
  TokenOnly: z.boolean().default(false),
});

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

const redisUrl = z
  .string()
  .default("")
  .superRefine((url, ctx) => {
    if (url === "") return;
    try {
      parseRedisUrl(url);
    } catch (err) {
      if (!(err instanceof RedisUrlError)) throw err;
      ctx.addIssue({ code: "custom", message: err.message });
    }
  });

/** JSON text as a value; the text itself when it is not JSON (the schema then says what is wrong). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A value given as JSON text (from an environment variable), or as it is (from the file). */
function fromJson<S extends z.ZodType>(schema: S) {
  return z.preprocess((value) => (typeof value === "string" ? parseJson(value) : value), schema);
}

/** What the docs, `--help` and the overrides know of a top-level key. */
export interface KeyDoc {
  /** The `ROCKET_*` variable that overrides the key; none for `Hubs`, which only a file gives. */
  readonly env: string | undefined;
  /** The command-line flag that overrides the key, with its argument (`--port <port>`), if any. */
  readonly flag?: string;
  /** The default as the docs show it: a literal in backticks (checked against the schema), or words. */
  readonly default: string;
  /** One line of plain text for `--help` and the README's table. */
  readonly help: string;
}

const key = <S extends z.ZodType>(doc: KeyDoc & { readonly schema: S }) => doc;

/**
 * Every top-level key of the configuration, once: its schema (with its default), its
 * environment variable, its flag and its help. Precedence is flag > environment > file >
 * default. The file schema, the overrides, `--help` and the README's table all come from it.
 */
export const configKeys = {
  Host: key({
    env: "ROCKET_HOST",
    flag: "--host <host>",
    default: "`localhost`",
    help: "interface to listen on (0.0.0.0 for all)",
    schema: z.string().min(1).default("localhost"),
  }),
  Port: key({
    env: "ROCKET_PORT",
    flag: "--port <port>",
    default: "`9772`",
    help: "port for WebSocket and HTTP; 0 picks a free one (logged)",
    schema: port.default(9772),
  }),
  TLSCertFile: key({
    env: "ROCKET_TLS_CERT_FILE",
    default: "none",
    help: "PEM certificate; with TLSKeyFile the gateway serves wss:// and https:// (checked readable at start)",
    schema: z.string().default(""),
  }),
  TLSKeyFile: key({
    env: "ROCKET_TLS_KEY_FILE",
    default: "none",
    help: "PEM private key of TLSCertFile (checked readable at start)",
    schema: z.string().default(""),
  }),
  Hubs: key({
    env: undefined,
    default: "one hub at `/`",
    help: "the WebSocket endpoints, each with its own secrets and channels (file only; see below)",
    schema: z.array(hubSchema).default([]),
  }),
  History: key({
    env: "ROCKET_HISTORY",
    default: "none",
    help: 'history of every hub\'s channels unless the hub has its own, e.g. {"Size": 100, "TtlSeconds": 300} (JSON in the variable)',
    schema: fromJson(historySchema).optional(),
  }),
  Channels: key({
    env: "ROCKET_CHANNELS",
    default: "none",
    help: 'history and presence per channel prefix for every hub without its own, e.g. [{"Prefix": "chat:", "History": {"Size": 100}, "Presence": true}] (JSON in the variable)',
    schema: fromJson(z.array(channelRuleSchema)).optional(),
  }),
  Presence: key({
    env: "ROCKET_PRESENCE",
    default: "off",
    help: "__join/__leave events and member lists on every hub's channels unless the hub or a Channels rule says otherwise",
    schema: z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean()).optional(),
  }),
  ApiKeys: key({
    env: "ROCKET_API_KEYS",
    default: "none (API off)",
    help: 'keys of the HTTP API under /api/ (Authorization: Bearer KEY), at least 16 characters each, e.g. ["old", "new"] while rotating (JSON in the variable)',
    schema: z
      .preprocess(
        (v) => (typeof v === "string" ? (v.trimStart().startsWith("[") ? parseJson(v) : [v]) : v),
        z.array(z.string().min(minKeyLength, `must be at least ${minKeyLength} characters`)),
      )
      .default([]),
  }),
  Webhooks: key({
    env: "ROCKET_WEBHOOKS",
    default: "none",
    help: 'signed POSTs of channel and presence events, e.g. {"Url": "https://app/hooks", "Secret": "…"} (JSON in the variable)',
    schema: fromJson(webhooksSchema).optional(),
  }),
  RedisUrl: key({
    env: "ROCKET_REDIS_URL",
    flag: "--redis <url>",
    default: "none",
    help: "Redis for cluster mode: redis://, rediss://, redis+cluster://host:port,host:port, or redis+sentinel://host:port,host:port/MASTER_NAME",
    schema: redisUrl,
  }),
  LogLevel: key({
    env: "ROCKET_LOG_LEVEL",
    flag: "--log-level <level>",
    default: "`info`",
    help: "trace, debug, info, warn, error, fatal or silent",
    schema: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  }),
  MetricsPort: key({
    env: "ROCKET_METRICS_PORT",
    flag: "--metrics-port <port>",
    default: "the main port",
    help: "serve /metrics on this port instead of the main one; /healthz and /readyz answer on both",
    schema: port.optional(),
  }),
  StaticDir: key({
    env: "ROCKET_STATIC_DIR",
    flag: "--static <dir>",
    default: "none",
    help: "directory whose files are served over plain HTTP next to the hubs (read at start)",
    schema: z.string().default(""),
  }),
  MaxPayloadBytes: key({
    env: "ROCKET_MAX_PAYLOAD_BYTES",
    default: "`65536`",
    help: "largest message accepted; a larger one closes the connection with 1009",
    schema: positiveInt.max(16 * 1024 * 1024).default(64 * 1024),
  }),
  MaxDepth: key({
    env: "ROCKET_MAX_DEPTH",
    default: "`32`",
    help: "deepest JSON nesting accepted (1 to 1000); deeper frames get invalid_data",
    schema: positiveInt.max(1000).default(32),
  }),
  IdleTimeoutSeconds: key({
    env: "ROCKET_IDLE_TIMEOUT_SECONDS",
    default: "`120`",
    help: "a client silent this long is closed (8 to 960, best a multiple of 4); it is pinged first",
    schema: z.coerce.number().int().min(8).max(960).default(120),
  }),
  MaxBackpressureBytes: key({
    env: "ROCKET_MAX_BACKPRESSURE_BYTES",
    default: "`1048576`",
    help: "bytes queued for one client before it is closed as a slow consumer (4008)",
    schema: positiveInt.default(1024 * 1024),
  }),
  PublishTimeoutMs: key({
    env: "ROCKET_PUBLISH_TIMEOUT_MS",
    default: "`2000`",
    help: "longest wait for Redis to confirm a publish or subscribe before the reply is unavailable",
    schema: positiveInt.default(2000),
  }),
  DrainTimeoutMs: key({
    env: "ROCKET_DRAIN_TIMEOUT_MS",
    default: "`2000`",
    help: "on SIGTERM, clients are closed with 1001 spread over this window (0 to 60000)",
    schema: z.coerce.number().int().min(0).max(60000).default(2000),
  }),
  MaxCommandsPerSecond: key({
    env: "ROCKET_MAX_COMMANDS_PER_SECOND",
    default: "`200`",
    help: "frames one connection may send per second on average (bursts of twice that); more get rate_limited",
    schema: positiveInt.default(200),
  }),
  MaxPublishesPerSecond: key({
    env: "ROCKET_MAX_PUBLISHES_PER_SECOND",
    default: "`100`",
    help: "publishes one connection may send per second on average (bursts of twice that); more get rate_limited",
    schema: positiveInt.default(100),
  }),
  MaxSubscriptionsPerConnection: key({
    env: "ROCKET_MAX_SUBSCRIPTIONS_PER_CONNECTION",
    default: "`1000`",
    help: "channels one connection may be subscribed to at once; a subscribe past it gets limit_exceeded",
    schema: positiveInt.default(1000),
  }),
  MaxAuthFailures: key({
    env: "ROCKET_MAX_AUTH_FAILURES",
    default: "`5`",
    help: "failed auth attempts on one connection before it is closed with 4501",
    schema: positiveInt.default(5),
  }),
  MaxConnectionsPerSecond: key({
    env: "ROCKET_MAX_CONNECTIONS_PER_SECOND",
    default: "`0`",
    help: "new connections this node accepts per second, more get HTTP 503 with Retry-After; 0: no cap",
    schema: z.coerce.number().int().min(0).default(0),
  }),
  ChannelTtlSeconds: key({
    env: "ROCKET_CHANNEL_TTL_SECONDS",
    default: "`86400`",
    help: "a channel with no subscriber and no publish for this long is forgotten cluster-wide; 0: never",
    schema: z.coerce.number().int().min(0).default(86400),
  }),
  MaxConnections: key({
    env: "ROCKET_MAX_CONNECTIONS",
    default: "`0`",
    help: "most connections held at once, more get HTTP 503; 0: the open-file limit less a reserve",
    schema: z.coerce.number().int().min(0).default(0),
  }),
};

export type ConfigKey = keyof typeof configKeys;

/** The table's entries, in its order (the order of `--help` and the README). */
export function keyDocs(): [ConfigKey, KeyDoc][] {
  return Object.entries(configKeys) as [ConfigKey, KeyDoc][];
}

/** Variables read besides the keys' own. */
export const extraEnv: readonly { readonly env: string; readonly default: string; readonly help: string }[] = [
  {
    env: "ROCKET_SECRET",
    default: "generated at each start (logged)",
    help: "read-write secret of the default hub / (when the file names no hubs)",
  },
  {
    env: "ROCKET_TOKEN_SECRET",
    default: "generated at each start (logged)",
    help: "Tokens.Secret of the default hub /: HMAC key of its tokens, at least 32 characters",
  },
  {
    env: "ROCKET_TOKEN_PUBLIC_KEY_FILE",
    default: "none",
    help: "Tokens.PublicKeyFile of the default hub / (instead of a secret): PEM public key",
  },
  {
    env: "ROCKET_TOKEN_JWKS_URL",
    default: "none",
    help: "Tokens.JwksUrl of the default hub / (instead of a secret): https:// JWKS endpoint",
  },
  { env: "ROCKET_TOKEN_ISSUER", default: "none", help: "Tokens.Issuer of the default hub /: required iss claim" },
  { env: "ROCKET_TOKEN_AUDIENCE", default: "none", help: "Tokens.Audience of the default hub /: required aud claim" },
  {
    env: "ROCKET_TOKEN_LEEWAY_SECONDS",
    default: "`5`",
    help: "Tokens.LeewaySeconds of the default hub /: clock skew allowed on exp and nbf",
  },
  {
    env: "ROCKET_API_KEY",
    default: "none",
    help: "one more key of the HTTP API, beside ApiKeys",
  },
  {
    env: "ROCKET_TOKEN_ONLY",
    default: "`false`",
    help: "TokenOnly of the default hub /: true refuses secrets (read-only included)",
  },
];

type Shape = { [K in ConfigKey]: (typeof configKeys)[K]["schema"] };
const shape = Object.fromEntries(Object.entries(configKeys).map(([name, k]) => [name, k.schema])) as Shape;

export const fileConfigSchema = z.strictObject(shape).superRefine((cfg, ctx) => {
  if ((cfg.TLSCertFile === "") !== (cfg.TLSKeyFile === "")) {
    ctx.addIssue({
      code: "custom",
      path: [cfg.TLSCertFile === "" ? "TLSCertFile" : "TLSKeyFile"],
      message: "TLSCertFile and TLSKeyFile go together",
    });
  }
  checkPrefixes(cfg.Channels, ["Channels"], ctx);
  const seen = new Set<string>();
  cfg.Hubs.forEach((hub, i) => {
    if (seen.has(hub.Path))
      ctx.addIssue({ code: "custom", path: ["Hubs", i, "Path"], message: `duplicate hub path ${hub.Path}` });
    seen.add(hub.Path);
    checkPrefixes(hub.Channels, ["Hubs", i, "Channels"], ctx);
    if (hub.Secrets && hub.Secret !== undefined) {
      ctx.addIssue({ code: "custom", path: ["Hubs", i, "Secret"], message: "give either Secret or Secrets, not both" });
    }
    if (hub.TokenOnly && hub.Tokens === undefined) {
      ctx.addIssue({ code: "custom", path: ["Hubs", i, "TokenOnly"], message: "a token-only hub needs Tokens" });
    }
  });
});

/** A prefix given twice would make "the longest matching prefix" ambiguous. */
function checkPrefixes(
  rules: readonly { readonly Prefix: string }[] | undefined,
  path: (string | number)[],
  ctx: z.RefinementCtx,
): void {
  const seen = new Set<string>();
  rules?.forEach((rule, j) => {
    if (seen.has(rule.Prefix))
      ctx.addIssue({ code: "custom", path: [...path, j, "Prefix"], message: `duplicate prefix ${rule.Prefix}` });
    seen.add(rule.Prefix);
  });
}

export type FileConfigInput = z.input<typeof fileConfigSchema>;
export type FileConfig = z.output<typeof fileConfigSchema>;
