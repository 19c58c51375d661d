import { createRequire } from "node:module";

export type Uws = typeof import("uWebSockets.js");

/** The gateway would run, slowly and without half its checks, on uWS's pure-JS fallback. */
export class NativeUwsError extends Error {
  readonly code = "uws_not_native";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NativeUwsError";
  }
}

/**
 * Loads uWebSockets.js and insists on its native build. The package silently falls back to
 * a pure-JS server when its binary does not load (or when UWS_USE_FALLBACK is set); the
 * fallback lacks `SSLApp`, which is how it is told apart.
 */
export function loadNativeUws(): Uws {
  const require = createRequire(import.meta.url);
  let uws: Uws;
  try {
    uws = require("uWebSockets.js") as Uws;
  } catch (err) {
    throw new NativeUwsError(`uWebSockets.js did not load: ${(err as Error).message}`, { cause: err });
  }
  if (typeof uws.SSLApp !== "function") {
    throw new NativeUwsError(
      `uWebSockets.js's native binary did not load for Node ${process.version} on ${process.platform}-${process.arch}` +
        (process.env.UWS_USE_FALLBACK ? " (UWS_USE_FALLBACK is set: unset it)" : "") +
        "; Rocket refuses to run on the pure-JS fallback. Run it on Node.js 20, the newest release the uWebSockets.js build ships a binary for.",
    );
  }
  return uws;
}
