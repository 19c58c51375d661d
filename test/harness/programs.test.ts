import { describe, expect, it } from "vitest";
import { startProcess } from "./process.js";
import { debianPackages, findProgram, MissingProgramError, requireProgram } from "./programs.js";

describe("programs the tests start", () => {
  it("are found on the PATH", () => {
    expect(findProgram("sh")).toMatch(/^\/.*\/sh$/);
    expect(requireProgram("sh")).toBe(findProgram("sh"));
  });

  it("fail in one line that names the program and its Debian package, from .ci/run", () => {
    expect(debianPackages().get("redis-cli")).toBe("redis-tools");
    expect(new MissingProgramError("haproxy").message).toBe(
      "required program not found on PATH: haproxy (Debian package haproxy; .ci/run installs it)",
    );
    expect(() => requireProgram("rocket-no-such-program")).toThrow(new MissingProgramError("rocket-no-such-program"));
    expect(new MissingProgramError("rocket-no-such-program").message).toBe(
      "required program not found on PATH: rocket-no-such-program",
    );
  });

  it("are checked before anything starts", () => {
    expect(() => startProcess("rocket-no-such-program", [])).toThrow(
      /^required program not found on PATH: rocket-no-such-program$/,
    );
  });

  it("that cannot be started end their waits at once instead of timing out", async () => {
    // A file that exists but is not executable: spawn fails with EACCES.
    const proc = startProcess(new URL(import.meta.url).pathname, []);
    await expect(proc.waitForLine(/never/, 60_000)).rejects.toThrow(/EACCES/);
    expect(await proc.exited).toEqual({ code: null, signal: null });
  });
});
