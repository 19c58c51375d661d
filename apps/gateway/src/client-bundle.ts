import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/** The client SDK as one ES module (built by build-client.mjs), served at {@link clientBundlePath}. */
export interface ClientBundle {
  readonly body: Buffer;
  /** `"<gateway version>-<first 12 hex of the body's SHA-256>"`: changes with every release and every build that changes it. */
  readonly etag: string;
}

/** Where every gateway serves the client SDK. */
export const clientBundlePath = "/rocket-client.js";

/** Reads the bundle next to the compiled gateway; undefined when the build made none (a plain `tsc`). */
export function loadClientBundle(
  version: string,
  file = new URL("./rocket-client.js", import.meta.url),
): ClientBundle | undefined {
  let body: Buffer;
  try {
    body = readFileSync(file);
  } catch {
    return undefined;
  }
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 12);
  return { body, etag: `"${version}-${hash}"` };
}
