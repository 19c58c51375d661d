import { type RocketClient, RocketError } from "@rocket/client";

/** What this tab may do: read (see the room) or write too (chat, move). */
export type Access = "read-only" | "read-write";

/**
 * Authenticates with the read-write secret when there is one, falling back to read-only
 * (open on the default hub) when there is none or the server refuses it. Resolves with the
 * access the session holds, and whether a given secret was refused.
 */
export async function authenticate(
  client: RocketClient,
  secret: string | undefined,
): Promise<{ access: Access; refused: boolean }> {
  if (secret !== undefined) {
    try {
      await client.auth("read-write", secret);
      return { access: "read-write", refused: false };
    } catch (error) {
      if (!(error instanceof RocketError) || error.code !== "invalid_credentials") throw error;
    }
  }
  // A refused secret leaves the session with no access at all: take read-only back.
  await client.auth("read-only", "");
  return { access: "read-only", refused: secret !== undefined };
}
