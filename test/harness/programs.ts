import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";

/** .ci/run installs the programs the tests start; its `[program]=debian-package` table is the one list of them. */
const ciRun = new URL("../../.ci/run", import.meta.url);

/** A program a test needs is not installed. */
export class MissingProgramError extends Error {
  override readonly name = "MissingProgramError";
  constructor(readonly program: string) {
    const pkg = debianPackages().get(program);
    super(`required program not found on PATH: ${program}${pkg ? ` (Debian package ${pkg}; .ci/run installs it)` : ""}`);
  }
}

// Looked up once per test process: PATH does not change while tests run.
const lookups = new Map<string, string | undefined>();
let packages: ReadonlyMap<string, string> | undefined;

/** program -> Debian package, as .ci/run lists them. */
export function debianPackages(): ReadonlyMap<string, string> {
  packages ??= new Map(
    [...readFileSync(ciRun, "utf8").matchAll(/^\s*\[([\w.-]+)\]=([\w.+-]+)\s*$/gm)].map((m) => [m[1] ?? "", m[2] ?? ""]),
  );
  return packages;
}

/** The absolute path of `program` on PATH, or undefined. */
export function findProgram(program: string): string | undefined {
  if (!lookups.has(program)) {
    const dirs = (process.env.PATH ?? "").split(delimiter).filter((dir) => dir !== "");
    lookups.set(
      program,
      dirs
        .map((dir) => join(dir, program))
        .find((path) => {
          try {
            accessSync(path, constants.X_OK);
            return true;
          } catch {
            return false;
          }
        }),
    );
  }
  return lookups.get(program);
}

/**
 * The absolute path of `program` on PATH; throws `MissingProgramError`, one line naming
 * the program and its Debian package, when it is not there. Call it before starting
 * anything, so that a missing program fails the test at once rather than as a timeout.
 */
export function requireProgram(program: string): string {
  const path = findProgram(program);
  if (path === undefined) throw new MissingProgramError(program);
  return path;
}
