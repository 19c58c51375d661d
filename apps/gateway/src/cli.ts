import { Command, InvalidArgumentError } from "commander";

export interface CliArgs {
  readonly configFile: string | undefined;
  /** Flag values by attribute name (see `flagKeys` in config.ts). */
  readonly flags: Record<string, unknown>;
}

const envHelp = `
Environment (flags win over environment, environment over the file):
  ROCKET_HOST, ROCKET_PORT, ROCKET_REDIS_URL, ROCKET_LOG_LEVEL, ROCKET_METRICS_PORT,
  ROCKET_STATIC_DIR, ROCKET_MAX_PAYLOAD_BYTES, ROCKET_MAX_BACKPRESSURE_BYTES,
  ROCKET_IDLE_TIMEOUT_SECONDS, ROCKET_PUBLISH_TIMEOUT_MS, ROCKET_DRAIN_TIMEOUT_MS,
  ROCKET_MAX_CONNECTIONS
  ROCKET_SECRET   read-write secret of the default hub "/" (used when the file names
                  no hubs; without it one is generated and printed at start)

CONFIG.json is webrocket's config file (Host, Port, TLSCertFile, TLSKeyFile,
Hubs[].Path/Codec/Log/Secrets.ReadOnly/ReadWrite) plus Rocket's keys; see the README.

Exit codes: 0 clean stop, 1 failure at run time, 2 bad configuration or flags.`;

function portArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("must be a port number, 0 to 65535");
  return n;
}

/** Parses argv. Exits 0 for --help/--version and 2 for unknown flags or bad values. */
export function parseCli(argv: readonly string[], version: string): CliArgs {
  const program = new Command("rocket")
    .description("Rocket: a horizontally scaled WebSocket pub/sub broker speaking webrocket's JSON protocol")
    .version(version, "-v, --version")
    .argument("[CONFIG.json]", "webrocket/Rocket configuration file")
    .option("--host <host>", "interface to listen on (default localhost)")
    .option("--port <port>", "port for WebSocket and HTTP (default 9772; 0 picks a free one)", portArg)
    .option("--redis <url>", "Redis for cluster mode: redis://, rediss://, or redis+cluster://host:port,host:port")
    .option("--metrics-port <port>", "serve /metrics on this port instead of the main one", portArg)
    .option("--static <dir>", "serve the files of this directory over HTTP next to the hubs")
    .option("--log-level <level>", "trace, debug, info, warn, error, fatal or silent (default info)")
    .addHelpText("after", envHelp)
    .showHelpAfterError()
    .exitOverride((err) => {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") process.exit(0);
      process.exit(2);
    });
  program.parse(argv as string[], { from: "node" });
  return { configFile: program.args[0], flags: program.opts() };
}
