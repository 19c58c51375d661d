import { Command, InvalidArgumentError, Option } from "commander";
import type { LoadOptions, ScenarioName } from "./options.js";
import { scenarioNames } from "./options.js";
import { defaultRocketBin } from "./servers.js";

/** What the command line asks for. */
export type CliRequest =
  | {
      readonly command: "run";
      readonly scenario: ScenarioName;
      /** Start Rocket and the baseline and run both; otherwise run against `urls`. */
      readonly compare: boolean;
      /** With `compare`: Rocket and the baseline alternate this many times (R, B, R, B, ...). */
      readonly rounds: number;
      /** With `compare`: each side runs in cluster mode, with its own fresh redis-server (cross always does). */
      readonly withRedis: boolean;
      readonly load: LoadOptions;
      readonly urls: readonly string[];
      readonly hub: string;
      readonly secret: string;
      readonly readSecret: string;
      /** Authenticate every connection with a token signed with this (the hub's Tokens.Secret). */
      readonly tokenSecret: string | undefined;
      readonly serverPids: readonly number[];
      readonly redisPid: number | undefined;
      readonly label: string;
      readonly jsonFile: string | undefined;
      readonly progress: boolean;
      readonly rocketBin: string;
      /** Pin servers started by --compare to these CPUs. */
      readonly serverCpus: string | undefined;
      /** With `compare`: Rocket with history on every channel (this Size) against Rocket without. */
      readonly historySize: number | undefined;
      /** Pin this process (and its workers) to these CPUs. */
      readonly loadCpus: string | undefined;
      /**
       * Publishers POST to the HTTP API instead of publishing over their WebSocket; with
       * `compare`: Rocket so against Rocket publishing over WebSockets.
       */
      readonly httpPublish: boolean;
      /** The API key for `httpPublish` without `compare`. */
      readonly apiKey: string | undefined;
      /** The API's base URL for `httpPublish` without `compare`; default each publisher's node. */
      readonly apiUrl: string | undefined;
    }
  | { readonly command: "baseline"; readonly host: string; readonly port: number; readonly redisUrl: string | undefined };

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer");
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a non-negative integer");
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("must be a positive number");
  return n;
}

function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new InvalidArgumentError("must be in (0, 1]");
  return n;
}

function scenarioArg(value: string): ScenarioName {
  if (!(scenarioNames as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${scenarioNames.join(", ")}`);
  }
  return value as ScenarioName;
}

function collect<T>(parse: (v: string) => T) {
  return (value: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(value)];
}

/** "127.0.0.2-127.0.0.9" or "a,b,c" → addresses; "auto" stays. */
export function parseSources(value: string): string[] | "auto" {
  if (value === "auto") return "auto";
  const range = /^(\d+\.\d+\.\d+\.)(\d+)-(?:\d+\.\d+\.\d+\.)?(\d+)$/.exec(value);
  if (range) {
    const [, prefix, from, to] = range as unknown as [string, string, string, string];
    const out: string[] = [];
    for (let i = Number(from); i <= Number(to); i++) out.push(`${prefix}${i}`);
    if (out.length === 0) throw new InvalidArgumentError("empty address range");
    return out;
  }
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

const scenarioHelp = `
Scenarios:
  fanout       S subscribers on one channel, one publisher (deliveries/s, loss, latency)
  channels     N connections each on its own channel, a fraction publishing to it
  connections  N idle subscribed connections: open time, server RSS per connection
               (with --server-pid), then light publishing; clients in several processes
  cross        subscribers on node A, publisher on node B of a Redis-backed cluster
  churn        connect-subscribe-disconnect at a rate while a fanout runs

Without --rate each scenario runs a peak phase (publishers as fast as the slowest
subscriber allows), then a phase at half the peak's publish rate, whose latency is the
one to quote. With --rate both servers get the same load: compare server CPU per
delivery and latency at equal work, over several --rounds.

Examples:
  rocket-bench --compare fanout
  rocket-bench --compare channels --rate 10000 --rounds 3
  rocket-bench --compare connections --with-redis --connections 18000 --rate 1000 --rounds 3
  rocket-bench --compare cross --history            (Rocket with history / without)
  rocket-bench --compare channels --http-publish    (publishes over HTTP / over WebSockets)
  rocket-bench fanout --url ws://127.0.0.1:9772 --secret S --server-pid 1234
  rocket-bench cross --url ws://127.0.0.1:9001 --url ws://127.0.0.1:9002 --secret S
  rocket-bench baseline --port 9800 [--redis redis://127.0.0.1:6379]`;

/** Parses argv; exits 0 for --help and 2 for bad usage. */
export function parseCli(argv: readonly string[], version: string, env: NodeJS.ProcessEnv): CliRequest {
  // A holder rather than a `let`: the actions assign it in callbacks, which narrowing does not see.
  const parsed: { request?: CliRequest } = {};
  const program = new Command("rocket-bench")
    .description("Load generator for servers speaking Rocket's (webrocket's) JSON protocol, and its bare-uWS baseline")
    .version(version, "-v, --version")
    .showHelpAfterError()
    .exitOverride((err) => {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help")
        process.exit(0);
      process.exit(2);
    });

  program
    .command("baseline")
    .description("run the baseline server: bare uWebSockets.js pub/sub speaking the same frames, no checks")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--port <port>", "port (0 picks a free one)", nonNegativeInt, 0)
    .option("--redis <url>", "relay every publish through this Redis (PUBLISH, one SUBSCRIBE per channel)")
    .action((opts: { host: string; port: number; redis?: string }) => {
      parsed.request = { command: "baseline", host: opts.host, port: opts.port, redisUrl: opts.redis };
    });

  program
    .argument("[scenario]", `one of ${scenarioNames.join(", ")}`, scenarioArg)
    .addOption(
      new Option("--compare <scenario>", "start Rocket and the baseline, run the scenario on both, print the ratio").argParser(
        scenarioArg,
      ),
    )
    .option("--url <url>", "server WebSocket URL, ws://host:port (twice for cross: node A, node B)", collect(String))
    .option("--hub <path>", "hub path", "/")
    .option("--secret <secret>", "read-write secret for publishers (default $ROCKET_SECRET)")
    .option("--read-secret <secret>", "read-only secret for subscribers", "")
    .option(
      "--token-secret <secret>",
      "authenticate every connection with a token signed with this hub token secret (32+ characters; --compare gives it to Rocket)",
    )
    .option("--server-pid <pid>", "server process to sample for CPU and RSS (repeat per --url)", collect(positiveInt))
    .option("--redis-pid <pid>", "Redis process to sample for CPU", positiveInt)
    .option("--label <name>", "name of the server in the report", "server")
    .option("-s, --subscribers <n>", "subscribers on the channel (fanout, cross, churn)", positiveInt, 1000)
    .option("-n, --connections <n>", "connections (channels: 10000, connections: 19000)", positiveInt)
    .option("--publish-fraction <f>", "share of connections that publish (channels 0.1, connections 0.01)", fraction)
    .option("--rate <n>", "fixed total publishes/s (one phase) instead of peak + half", positiveNumber)
    .option(
      "--rounds <n>",
      "with --compare: run Rocket and the baseline alternately N times each, report each round and the median",
      positiveInt,
      1,
    )
    .option("--with-redis", "with --compare: each side in cluster mode, one node and its own fresh redis-server (cross always)")
    .option(
      "--history [size]",
      "with --compare: Rocket with History on every channel (Size, default 100) against Rocket without, instead of the baseline",
    )
    .option(
      "--http-publish",
      "publishers POST to /api/publish (one kept-alive connection each, one request at a time) instead of publishing over their WebSocket; with --compare: against Rocket publishing over WebSockets",
    )
    .option("--api-key <key>", "API key for --http-publish (default $ROCKET_API_KEY; --compare makes one)")
    .option("--api-url <url>", "API base URL for --http-publish, e.g. http://127.0.0.1:9100 (default: each publisher's node)")
    .option("--payload <bytes>", "size of each publish's data JSON", positiveInt, 100)
    .option("-d, --duration <s>", "measured seconds per phase", positiveNumber, 5)
    .option("--warmup <s>", "seconds of load before each measurement", positiveNumber, 1)
    .option("--churn-rate <n>", "churn cycles per second", positiveNumber, 200)
    .option("--churn-hold <ms>", "how long a churning client stays subscribed", nonNegativeInt, 100)
    .option("-w, --workers <n>", "load workers (default: CPU count, at least 2)", positiveInt)
    .addOption(new Option("--worker-kind <kind>", "load workers as threads or processes").choices(["thread", "process"]))
    .option("--source-addresses <list>", "client source addresses: a,b,c or 127.0.0.2-127.0.0.9 or auto", "auto")
    .option("--connect-concurrency <n>", "connections each worker opens at a time", positiveInt, 64)
    .option("--window <n>", "messages a publisher may run ahead of the slowest subscriber", positiveInt)
    .option(
      "--settle <s>",
      "pause before reading idle memory (connections); 60 lets V8 give back what the opening burst grew",
      positiveNumber,
      2,
    )
    .option("--drain-timeout <ms>", "how long to wait for the last deliveries of a phase", positiveInt, 5000)
    .option("--json <file>", "also write the results as JSON")
    .option("--rocket-bin <path>", "gateway CLI for --compare", defaultRocketBin)
    .option("--server-cpus <list>", "pin the servers --compare starts to these CPUs (taskset list, e.g. 0)")
    .option("--load-cpus <list>", "pin the load side to these CPUs (taskset list, e.g. 1)")
    .option("--no-progress", "no live progress on stderr")
    .addHelpText("after", scenarioHelp)
    .action((scenarioArgValue: ScenarioName | undefined, o: Record<string, unknown>) => {
      const compareScenario = o.compare as ScenarioName | undefined;
      const scenario = compareScenario ?? scenarioArgValue;
      if (!scenario) return program.error("give a scenario, or --compare <scenario>");
      if (compareScenario && scenarioArgValue && compareScenario !== scenarioArgValue) {
        program.error("--compare names a different scenario than the argument");
      }
      const urls = (o.url as string[] | undefined) ?? [];
      if (!compareScenario && urls.length === 0)
        program.error("give --url (the server to drive), or --compare to start Rocket and the baseline");
      if (!compareScenario && ((o.rounds as number) > 1 || o.withRedis === true || o.history !== undefined))
        program.error("--rounds, --with-redis and --history go with --compare");
      const historySize = o.history === undefined ? undefined : o.history === true ? 100 : Number(o.history);
      const httpPublish = o.httpPublish === true;
      const apiKey = (o.apiKey as string | undefined) ?? env.ROCKET_API_KEY;
      if (httpPublish && historySize !== undefined) program.error("--http-publish and --history are two comparisons: give one");
      if (httpPublish && !compareScenario && !apiKey) program.error("--http-publish needs --api-key (or $ROCKET_API_KEY)");
      if (historySize !== undefined && !(Number.isInteger(historySize) && historySize > 0))
        program.error("--history: the size must be a positive integer");
      const defaultConnections = scenario === "connections" ? 19_000 : 10_000;
      const load: LoadOptions = {
        subscribers: o.subscribers as number,
        connections: (o.connections as number | undefined) ?? defaultConnections,
        publishFraction: o.publishFraction as number | undefined,
        ratePerSec: o.rate as number | undefined,
        payloadBytes: o.payload as number,
        durationSec: o.duration as number,
        warmupSec: o.warmup as number,
        churnPerSec: o.churnRate as number,
        churnHoldMs: o.churnHold as number,
        workers: o.workers as number | undefined,
        workerKind: o.workerKind as LoadOptions["workerKind"],
        sourceAddresses: parseSources(o.sourceAddresses as string),
        connectConcurrency: o.connectConcurrency as number,
        window: o.window as number | undefined,
        settleSec: o.settle as number,
        drainTimeoutMs: o.drainTimeout as number,
        connectTimeoutMs: 20_000,
      };
      parsed.request = {
        command: "run",
        scenario,
        compare: compareScenario !== undefined,
        rounds: o.rounds as number,
        withRedis: o.withRedis === true,
        load,
        urls,
        hub: o.hub as string,
        secret: (o.secret as string | undefined) ?? env.ROCKET_SECRET ?? "",
        readSecret: o.readSecret as string,
        tokenSecret: o.tokenSecret as string | undefined,
        serverPids: (o.serverPid as number[] | undefined) ?? [],
        redisPid: o.redisPid as number | undefined,
        label: o.label as string,
        jsonFile: o.json as string | undefined,
        progress: o.progress as boolean,
        rocketBin: o.rocketBin as string,
        serverCpus: o.serverCpus as string | undefined,
        historySize,
        loadCpus: o.loadCpus as string | undefined,
        httpPublish,
        apiKey,
        apiUrl: o.apiUrl as string | undefined,
      };
    });

  program.parse(argv as string[], { from: "node" });
  if (parsed.request === undefined) return program.help();
  return parsed.request;
}
