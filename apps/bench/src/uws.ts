import { createRequire } from "node:module";

export type Uws = typeof import("uWebSockets.js");

/**
 * Loads uWebSockets.js and insists on its native build: the package silently falls back to
 * a pure-JS server when its binary does not load, and a baseline measured on that would
 * not be the ceiling of this stack. The fallback lacks `SSLApp`, which is how it is told apart.
 */
export function loadNativeUws(): Uws {
  const uws = createRequire(import.meta.url)("uWebSockets.js") as Uws;
  if (typeof uws.SSLApp !== "function") {
    throw new Error(
      `uWebSockets.js's native binary did not load for Node ${process.version} (${process.platform}-${process.arch})`,
    );
  }
  return uws;
}
