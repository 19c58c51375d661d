import { readFileSync } from "node:fs";
import { CloseCode, ErrorCode } from "@rocket/protocol";
import { describe, expect, it } from "vitest";

const doc = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");

describe("docs/protocol.md", () => {
  it("documents every error code", () => {
    for (const code of Object.values(ErrorCode)) expect(doc, code).toMatch(new RegExp(`^\\|\\s*\`${code}\`\\s*\\|`, "m"));
  });

  it("documents every close code", () => {
    for (const code of Object.values(CloseCode)) expect(doc, String(code)).toMatch(new RegExp(`^\\|\\s*${code}\\s*\\|`, "m"));
  });
});
