import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { CloseCode, ErrorCode } from "@rocket/protocol";
import { describe, expect, it } from "vitest";
import { environmentHelp } from "../../apps/gateway/src/cli.js";
import { extraEnv, keyDocs } from "../../apps/gateway/src/config-schema.js";
import { rocketBin } from "../harness/index.js";
import { markdownTable } from "../harness/markdown.js";

const doc = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("docs/protocol.md", () => {
  it("documents every error code", () => {
    for (const code of Object.values(ErrorCode)) expect(doc, code).toMatch(new RegExp(`^\\|\\s*\`${code}\`\\s*\\|`, "m"));
  });

  it("documents every close code", () => {
    for (const code of Object.values(CloseCode)) expect(doc, String(code)).toMatch(new RegExp(`^\\|\\s*${code}\\s*\\|`, "m"));
  });
});

describe("README.md", () => {
  it("has the configuration table the gateway reads: every key, flag, variable, default and meaning", () => {
    const expected = [
      ...keyDocs().map(([name, d]) => [
        `\`${name}\``,
        d.flag ? `\`${d.flag.split(" ")[0]}\`` : "",
        d.env ? `\`${d.env}\`` : "",
        d.default,
        d.help,
      ]),
      ...extraEnv.map((e) => ["", "", `\`${e.env}\``, e.default, e.help]),
    ];
    expect(markdownTable(readme, /^\| file key \| flag \| environment \| default \| meaning \|$/)).toEqual(expected);
  });

  it("shows every flag in the synopsis of `rocket`", () => {
    const synopsis = /^rocket \[CONFIG\.json\](.*)$/m.exec(readme)?.[1] ?? "";
    const shown = [...synopsis.matchAll(/\[(--[a-z-]+) \w+\]/g)].map((m) => m[1]);
    expect(shown).toEqual(keyDocs().flatMap(([, d]) => (d.flag ? [d.flag.split(" ")[0]] : [])));
  });
});

describe("rocket --help", () => {
  it("prints every flag, and the environment section from the table that reads the environment", () => {
    const help = execFileSync(process.execPath, [rocketBin, "--help"], { encoding: "utf8", env: {} });
    for (const [, d] of keyDocs()) if (d.flag) expect(help).toContain(d.flag);
    expect(help).toContain(environmentHelp());
    for (const e of extraEnv) expect(help).toContain(e.env);
  });
});
