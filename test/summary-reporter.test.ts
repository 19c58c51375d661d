import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));
const config = fileURLToPath(new URL("./fixtures/summary/vitest.config.ts", import.meta.url));

/** Runs vitest on one fixture file in a child process; resolves with its exit code and summary line. */
function runFixture(name: string): Promise<{ code: number; line: string }> {
  const env: NodeJS.ProcessEnv = {};
  // The child is a run of its own, not a worker of this one.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("VITEST")) env[k] = v;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [vitest, "run", "--config", config, `test/fixtures/summary/${name}.fixture.ts`],
      { cwd: root, env: { ...env, NO_COLOR: "1" }, timeout: 60_000 },
      (err, stdout) => {
        const line = stdout.split("\n").find((l) => l.startsWith("Tests: "));
        if (line === undefined) return reject(new Error(`no summary line from ${name}: ${err?.message ?? ""}\n${stdout}`));
        resolve({ code: typeof err?.code === "number" ? err.code : 0, line });
      },
    );
  });
}

describe("the summary line", () => {
  it.each([
    ["passing", 0, "Tests: 2 passed, 0 failed, 0 skipped"],
    ["failing-test", 1, "Tests: 1 passed, 1 failed, 0 skipped"],
    ["before-all-fails", 1, "Tests: 0 passed, 2 failed, 0 skipped"],
    ["suite-hook-fails", 1, "Tests: 1 passed, 1 failed, 0 skipped"],
    ["after-all-fails", 1, "Tests: 1 passed, 1 failed, 0 skipped (1 hook or file error)"],
    ["unhandled", 1, "Tests: 1 passed, 1 failed, 0 skipped (1 unhandled error)"],
    ["import-fails", 1, "Tests: 0 passed, 1 failed, 0 skipped (1 hook or file error)"],
  ] as const)("for %s: exit code %i, %s", async (name, code, line) => {
    expect(await runFixture(name)).toEqual({ code, line });
  });
});
