import { parseRedisUrl, RedisUrlError } from "@rocket/bus";
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

const hubPath = z
  .string()
  .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=@%/-]*$/, "must start with / and hold only URL path characters (no ':', '?' or '#')");

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
});

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

export const fileConfigSchema = z
  .strictObject({
    /** Interface to listen on. Default "localhost" (webrocket's); "0.0.0.0" for all. */
    Host: z.string().min(1).default("localhost"),
    /** TCP port for WebSocket and HTTP. Default 9772; 0 picks a free port. */
    Port: port.default(9772),
    /** PEM certificate; with TLSKeyFile, serves wss:// and https://. */
    TLSCertFile: z.string().default(""),
    /** PEM private key for TLSCertFile. */
    TLSKeyFile: z.string().default(""),
    /** The hubs; without any, one hub at "/" (read-only open, read-write from ROCKET_SECRET or generated). */
    Hubs: z.array(hubSchema).default([]),
    /** Redis URL for cluster mode (redis://, rediss://, or redis+cluster:// seed list). Default: none, one node. */
    RedisUrl: z
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
      }),
    /** pino level. Default "info". */
    LogLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    /** Serve /metrics on this port instead of the main one. Default: the main port. */
    MetricsPort: port.optional(),
    /** Directory of static files served over plain HTTP next to the hubs (websocketd's --staticdir). */
    StaticDir: z.string().default(""),
    /** Largest accepted message, in bytes; larger ones close the connection with 1009. Default 65536. */
    MaxPayloadBytes: positiveInt.max(16 * 1024 * 1024).default(64 * 1024),
    /** Deepest JSON nesting accepted; deeper frames get invalid_data. Default 32. */
    MaxDepth: positiveInt.max(1000).default(32),
    /** Close connections silent for this long; the server pings before that. Default 120. */
    IdleTimeoutSeconds: z.coerce.number().int().min(8).max(960).default(120),
    /** Bytes queued for one client before it is disconnected as a slow consumer (4008). Default 1 MiB. */
    MaxBackpressureBytes: positiveInt.default(1024 * 1024),
    /** Longest wait for the bus (Redis) to confirm a publish or subscribe before "unavailable". Default 2000. */
    PublishTimeoutMs: positiveInt.default(2000),
    /** On SIGTERM, close clients spread over this window before exiting. Default 2000. */
    DrainTimeoutMs: z.coerce.number().int().min(0).max(60000).default(2000),
    /** Most WebSocket connections this node holds; past it upgrades get 503. Default 0: the open-file limit less a reserve. */
    MaxConnections: z.coerce.number().int().min(0).default(0),
  })
  .superRefine((cfg, ctx) => {
    if ((cfg.TLSCertFile === "") !== (cfg.TLSKeyFile === "")) {
      ctx.addIssue({
        code: "custom",
        path: [cfg.TLSCertFile === "" ? "TLSCertFile" : "TLSKeyFile"],
        message: "TLSCertFile and TLSKeyFile go together",
      });
    }
    const seen = new Set<string>();
    cfg.Hubs.forEach((hub, i) => {
      if (seen.has(hub.Path))
        ctx.addIssue({ code: "custom", path: ["Hubs", i, "Path"], message: `duplicate hub path ${hub.Path}` });
      seen.add(hub.Path);
      if (hub.Secrets && hub.Secret !== undefined) {
        ctx.addIssue({ code: "custom", path: ["Hubs", i, "Secret"], message: "give either Secret or Secrets, not both" });
      }
    });
  });

export type FileConfigInput = z.input<typeof fileConfigSchema>;
export type FileConfig = z.output<typeof fileConfigSchema>;
