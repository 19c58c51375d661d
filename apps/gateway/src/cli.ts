import type { Capabilities } from "@rocket/protocol";
import { Command } from "commander";
import { type ConfigKey, extraEnv, keyDocs } from "./config-schema.js";
import { parseCapArguments, parseDuration } from "./token-mint.js";

/** `rocket [CONFIG.json] [flags]`: run the gateway. */
export interface ServeArgs {
  readonly command: "serve";
  readonly configFile: string | undefined;
  /** Flag values (strings, validated with the rest of the configuration) by the file key they override. */
  readonly flags: Partial<Record<ConfigKey, string>>;
}

/** `rocket token [CONFIG.json] --sub U --cap P=R,R --ttl 1h [--hub PATH]`: print a token. */
export interface TokenArgs {
  readonly command: "token";
  readonly configFile: string | undefined;
  readonly hub: string;
  readonly sub: string | undefined;
  readonly cap: Capabilities;
  readonly ttlSeconds: number;
}

export type CliArgs = ServeArgs | TokenArgs;

/** A table default as plain text: "`9772`" reads 9772. */
const plain = (text: string) => text.replace(/`/g, "");

/** Wraps `text` at `width` columns, every line indented by `indent`. */
function wrap(text: string, indent: string, width = 88): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(indent + line);
  return lines.join("\n");
}

/** The environment section of `--help`, from the same table that reads the environment. */
export function environmentHelp(): string {
  const entries = [
    ...keyDocs().flatMap(([name, doc]) =>
      doc.env ? [{ env: doc.env, what: `${name}, default ${plain(doc.default)}`, doc }] : [],
    ),
    ...extraEnv.map((doc) => ({ env: doc.env, what: `default ${plain(doc.default)}`, doc })),
  ];
  const width = Math.max(...entries.map((e) => e.env.length));
  const lines = entries.map(({ env, what, doc }) => `  ${env.padEnd(width)}  ${what}\n${wrap(doc.help, "      ")}`);
  return `Environment (a flag wins over its variable, a variable over the file's key):\n${lines.join("\n")}`;
}

const moreHelp = `

CONFIG.json is webrocket's config file (Host, Port, TLSCertFile, TLSKeyFile,
Hubs[].Path/Codec/Log/Secrets.ReadOnly/ReadWrite) plus Rocket's keys; see the README.

Exit codes: 0 clean stop, 1 failure at run time, 2 bad configuration or flags.`;

const tokenHelp = `

Signs with the hub's Tokens.Secret (ROCKET_TOKEN_SECRET for the default hub /), read from
the same configuration file and environment as the gateway, and prints the token alone, so
that TOKEN=$(rocket token ...) works. PATTERN is a channel name or a prefix ending in *;
RIGHTs are subscribe, publish, history and presence. Example:

  rocket token --sub alice --cap 'chat:*=subscribe,publish' --cap news=subscribe --ttl 1h`;

/** Parses argv. Exits 0 for --help/--version and 2 for unknown flags or bad values. */
export function parseCli(argv: readonly string[], version: string): CliArgs {
  let token: TokenArgs | undefined;
  const exitOverride = (err: { code: string }) => {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version") process.exit(0);
    process.exit(2);
  };
  const bad = (message: string): never => {
    process.stderr.write(`rocket token: ${message}\n`);
    process.exit(2);
  };
  const program = new Command("rocket")
    .description("Rocket: a horizontally scaled WebSocket pub/sub broker speaking webrocket's JSON protocol")
    .version(version, "-v, --version")
    .argument("[CONFIG.json]", "webrocket/Rocket configuration file");
  const flagged = keyDocs().flatMap(([name, doc]) => (doc.flag ? [{ name, flag: doc.flag, doc }] : []));
  for (const { flag, doc } of flagged) program.option(flag, `${doc.help} (default: ${plain(doc.default)})`);
  program
    .addHelpText("after", `\n${environmentHelp()}${moreHelp}`)
    .showHelpAfterError()
    .exitOverride(exitOverride)
    .action(() => {});
  program
    .command("token")
    .description("print a token signed with a hub's token secret (for development and scripts)")
    .argument("[CONFIG.json]", "webrocket/Rocket configuration file")
    .option("--hub <path>", "the hub whose secret signs", "/")
    .option("--sub <user>", "the user the token names (sub claim)")
    .option("--cap <pattern=rights>", "channel pattern and its rights, repeatable", (v: string, all: string[]) => [...all, v], [])
    .option("--ttl <duration>", "lifetime: 90s, 15m, 1h, 7d or seconds", "1h")
    .addHelpText("after", tokenHelp)
    .showHelpAfterError()
    .exitOverride(exitOverride)
    .action((configFile: string | undefined, o: { hub: string; sub?: string; cap: string[]; ttl: string }) => {
      const ttlSeconds = parseDuration(o.ttl) ?? bad(`--ttl ${o.ttl}: expected a duration such as 90s, 15m, 1h or 7d`);
      let cap: Capabilities = {};
      try {
        cap = parseCapArguments(o.cap);
      } catch (err) {
        bad((err as Error).message);
      }
      token = { command: "token", configFile, hub: o.hub, sub: o.sub, cap, ttlSeconds };
    });
  program.parse(argv as string[], { from: "node" });
  if (token !== undefined) return token;
  const opts = program.opts<Record<string, string | undefined>>();
  const flags: Partial<Record<ConfigKey, string>> = {};
  for (const { name, flag } of flagged) {
    const option = program.options.find((o) => o.flags === flag);
    const value = option ? opts[option.attributeName()] : undefined;
    if (value !== undefined) flags[name] = value;
  }
  return { command: "serve", configFile: program.args[0], flags };
}
