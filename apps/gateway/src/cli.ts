import { Command } from "commander";
import { type ConfigKey, extraEnv, keyDocs } from "./config-schema.js";

export interface CliArgs {
  readonly configFile: string | undefined;
  /** Flag values (strings, validated with the rest of the configuration) by the file key they override. */
  readonly flags: Partial<Record<ConfigKey, string>>;
}

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

/** Parses argv. Exits 0 for --help/--version and 2 for unknown flags. */
export function parseCli(argv: readonly string[], version: string): CliArgs {
  const program = new Command("rocket")
    .description("Rocket: a horizontally scaled WebSocket pub/sub broker speaking webrocket's JSON protocol")
    .version(version, "-v, --version")
    .argument("[CONFIG.json]", "webrocket/Rocket configuration file");
  const flagged = keyDocs().flatMap(([name, doc]) => (doc.flag ? [{ name, flag: doc.flag, doc }] : []));
  for (const { flag, doc } of flagged) program.option(flag, `${doc.help} (default: ${plain(doc.default)})`);
  program
    .addHelpText("after", `\n${environmentHelp()}${moreHelp}`)
    .showHelpAfterError()
    .exitOverride((err) => {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version") process.exit(0);
      process.exit(2);
    });
  program.parse(argv as string[], { from: "node" });
  const opts = program.opts<Record<string, string | undefined>>();
  const flags: Partial<Record<ConfigKey, string>> = {};
  for (const { name, flag } of flagged) {
    const option = program.options.find((o) => o.flags === flag);
    const value = option ? opts[option.attributeName()] : undefined;
    if (value !== undefined) flags[name] = value;
  }
  return { configFile: program.args[0], flags };
}
