import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { AudienceObserver, BusObserver, RegistryObserver } from "@rocket/bus";
import type { Logger } from "pino";
import { createBus } from "./bus-factory.js";
import { parseCli, type TokenArgs } from "./cli.js";
import { loadClientBundle } from "./client-bundle.js";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { connectionsUnderFdLimit } from "./fd-limit.js";
import { createGateway } from "./gateway.js";
import { createHubLogger, createLogger, createStdout } from "./logger.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { loadStaticFiles } from "./static-files.js";
import { mintToken } from "./token-mint.js";
import { loadNativeUws, NativeUwsError } from "./uws-native.js";
import { version } from "./version.js";

/** Exits with 2 on a configuration error; anything else is thrown on. */
function orConfigError<T>(build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`rocket: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** The composition root: the only place that reads argv, the environment and signals. */
async function main(): Promise<void> {
  const args = parseCli(process.argv, version);
  if (args.command === "token") return printToken(args);
  const config = orConfigError(() =>
    loadConfig({
      file: args.configFile,
      readFile: (path) => readFileSync(path, "utf8"),
      env: process.env,
      flags: args.flags,
    }),
  );

  let uws: ReturnType<typeof loadNativeUws>;
  try {
    uws = loadNativeUws();
  } catch (err) {
    if (err instanceof NativeUwsError) {
      process.stderr.write(`rocket: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }

  const node = `${hostname()}:${process.pid}`;
  const logSettings = { level: config.logLevel, pretty: process.stdout.isTTY === true, base: { node } };
  const stdout = createStdout(logSettings);
  const logger = createLogger(logSettings, stdout);
  const metrics = createMetrics({ version, redis: config.redisUrl !== undefined });

  const staticFiles = config.staticDir ? loadStaticFiles(config.staticDir) : undefined;
  const { bus, registry, audience, queue, directory } = orConfigError(() =>
    createBus({
      redisUrl: config.redisUrl,
      observer: busObserver(metrics),
      logger,
      publishTimeoutMs: config.publishTimeoutMs,
      node,
      channelTtlSeconds: config.limits.channelTtlSeconds,
      events: new Set(config.webhooks?.events ?? []),
    }),
  );
  const fds = connectionsUnderFdLimit();
  const maxConnections = config.maxConnections > 0 ? config.maxConnections : (fds?.max ?? Number.MAX_SAFE_INTEGER);
  metrics.connectionsMax.set(maxConnections);
  if (fds && config.maxConnections > fds.max) {
    logger.warn(
      { maxConnections: config.maxConnections, openFileLimit: fds.limit },
      "MaxConnections is above what the open-file limit allows",
    );
  }
  const gateway = createGateway({
    config,
    uws,
    logger,
    hubLogger: (hub) => createHubLogger(logSettings, stdout, hub.path, hub.logFile),
    metrics,
    bus,
    registry,
    audience,
    queue,
    directory,
    staticFiles,
    clientBundle: loadClientBundle(version),
    version,
    maxConnections,
  });

  let stopping = false;
  /** Exits once the logs are flushed, or after a second whatever the log destination does. */
  const exit = (code: number) => {
    const now = () => process.exit(code);
    setTimeout(now, 1000);
    logger.flush(now);
  };
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainTimeoutMs: config.drainTimeoutMs }, "draining");
    // Not unref'd: whatever hangs in the drain, the process ends.
    const deadline = setTimeout(() => {
      process.stderr.write("rocket: drain deadline passed; exiting\n");
      process.exit(1);
    }, config.drainTimeoutMs + 5000);
    gateway.shutdown().then(
      () => {
        clearTimeout(deadline);
        logger.info("stopped");
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(deadline);
        logger.error({ err }, "shutdown failed");
        exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  let bound: Awaited<ReturnType<typeof gateway.start>>;
  try {
    bound = await gateway.start();
  } catch (err) {
    process.stderr.write(`rocket: ${(err as Error).message}\n`);
    process.exit(1);
  }
  logger.info(
    {
      host: config.host,
      port: bound.port,
      metricsPort: bound.metricsPort,
      hubs: config.hubs.map((h) => h.path),
      bus: bus.kind,
      static: config.staticDir,
      api: config.apiKeys.length === 0 ? undefined : (bound.metricsPort ?? bound.port),
      maxConnections: maxConnections === Number.MAX_SAFE_INTEGER ? undefined : maxConnections,
      version,
    },
    "listening",
  );
  for (const hub of config.hubs) {
    if (hub.secrets.readWrite === "" && !hub.tokenOnly)
      logger.warn({ hub: hub.path }, "hub grants read-write to anyone: its ReadWrite secret is empty");
  }
  await announceDefaultHub(config, logger, bound.port);
}

/** Demo channels (apps/demo): what the start banner's demo link may use. */
const demoCap = { chat: ["subscribe", "publish"], positions: ["subscribe", "publish"] } as const;

/**
 * For the default hub of a start without configuration: the generated secrets (printed once,
 * so that `rocket token` and backends can be pointed at them) and, when the demo is served, a
 * link to it carrying a day's token for the demo's channels (never the read-write secret).
 */
async function announceDefaultHub(config: Config, logger: Logger, port: number): Promise<void> {
  if (!config.defaultHub) return;
  const generated = {
    ...(config.generatedSecret === undefined ? {} : { readWriteSecret: config.generatedSecret }),
    ...(config.generatedTokenSecret === undefined ? {} : { tokenSecret: config.generatedTokenSecret }),
  };
  if (Object.keys(generated).length > 0) {
    logger.info(
      { hub: "/", ...generated },
      "generated secrets for this run (set ROCKET_SECRET and ROCKET_TOKEN_SECRET to choose them)",
    );
  }
  const key = config.hubs[0]?.tokens?.key;
  if (config.staticDir === undefined || key?.kind !== "secret") return;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const hostPart = host.includes(":") ? `[${host}]` : host;
  const tokens = config.hubs[0]?.tokens;
  const token = await mintToken(
    {
      sub: `demo-${randomBytes(4).toString("hex")}`,
      cap: demoCap,
      ttlSeconds: 86400,
      issuer: tokens?.issuer,
      audience: tokens?.audience,
    },
    key.secret,
  );
  const url = `${config.tls ? "https" : "http"}://${hostPart}:${port}/#token=${token}`;
  logger.info({ hub: "/", url }, "open the demo at url (its token allows the demo's channels for 24 hours)");
}

/** `rocket token`: prints a token signed with a hub's secret, or exits 2 saying why not. */
async function printToken(args: TokenArgs): Promise<void> {
  const config = orConfigError(() =>
    loadConfig({
      file: args.configFile,
      readFile: (path) => readFileSync(path, "utf8"),
      env: process.env,
      flags: {},
      noGeneratedSecrets: true,
    }),
  );
  const hub = config.hubs.find((h) => h.path === args.hub);
  const fail = (message: string): never => {
    process.stderr.write(`rocket token: ${message}\n`);
    process.exit(2);
  };
  if (hub === undefined) return fail(`no hub ${args.hub} (hubs: ${config.hubs.map((h) => h.path).join(", ")})`);
  const key = hub.tokens?.key;
  if (key?.kind !== "secret") {
    const where = config.defaultHub ? "set ROCKET_TOKEN_SECRET" : `give Hubs[].Tokens.Secret for ${hub.path}`;
    return fail(`hub ${hub.path} has no token secret to sign with (${where}); tokens for public keys are signed by their issuer`);
  }
  const token = await mintToken(
    { sub: args.sub, cap: args.cap, ttlSeconds: args.ttlSeconds, issuer: hub.tokens?.issuer, audience: hub.tokens?.audience },
    key.secret,
  );
  process.stdout.write(`${token}\n`);
}

function busObserver(metrics: Metrics): BusObserver & RegistryObserver & AudienceObserver {
  return {
    publishAcked: (seconds) => metrics.busPublishAck.observe(seconds),
    publishFailed: () => metrics.busPublishFailures.inc(),
    connectionChanged: (up) => metrics.busUp.set(up ? 1 : 0),
    reconnected: () => metrics.busReconnects.inc(),
    subscribedTopics: (count) => metrics.busSubscribedTopics.set(count),
    knownChannels: (count) => metrics.busRegistryChannels.set(count),
    channelsExpired: (count) => metrics.busRegistryExpired.inc(count),
    canaryFailed: () => metrics.canaryFailures.inc(),
    gapFilled: (messages) => metrics.historyFilled.inc(messages),
    gapLost: () => metrics.historyLost.inc(),
    nodeReaped: () => metrics.audienceReaped.inc(),
    audienceFailed: () => metrics.audienceFailures.inc(),
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`rocket: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
