import { createSecretKey } from "node:crypto";
import { type Capabilities, isChannelPattern, type Right, rights } from "@rocket/protocol";
import { SignJWT } from "jose";

/** What a minted token says. */
export interface TokenClaims {
  /** The user (`sub`); none for an anonymous token. */
  readonly sub?: string | undefined;
  readonly cap: Capabilities;
  /** Lifetime from now (`exp` = `iat` + this), seconds. */
  readonly ttlSeconds: number;
  readonly issuer?: string | undefined;
  readonly audience?: string | undefined;
}

/**
 * Signs a token with a hub's HMAC secret (HS256): for `rocket token`, the start banner's demo
 * link and load generators. Applications sign theirs in their own backend.
 */
export async function mintToken(claims: TokenClaims, secret: string, nowMs = Date.now()): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  let jwt = new SignJWT({ cap: claims.cap })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.max(1, Math.round(claims.ttlSeconds)));
  if (claims.sub !== undefined) jwt = jwt.setSubject(claims.sub);
  if (claims.issuer !== undefined) jwt = jwt.setIssuer(claims.issuer);
  if (claims.audience !== undefined) jwt = jwt.setAudience(claims.audience);
  return jwt.sign(createSecretKey(Buffer.from(secret, "utf8")));
}

const units: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90`, `90s`, `15m`, `1h`, `7d` in seconds; undefined when not a positive duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * (units[match[2] || "s"] ?? 1);
  return seconds > 0 ? seconds : undefined;
}

/**
 * `--cap` arguments (`chat:*=subscribe,publish`, one pattern each) as a cap claim. Throws
 * with a message naming the bad argument.
 */
export function parseCapArguments(args: readonly string[]): Capabilities {
  const cap: Record<string, Right[]> = {};
  const known = new Set<string>(rights);
  for (const arg of args) {
    const at = arg.lastIndexOf("=");
    const pattern = at < 0 ? "" : arg.slice(0, at);
    if (at < 0 || !isChannelPattern(pattern))
      throw new Error(`--cap ${arg}: expected PATTERN=RIGHT,RIGHT (e.g. chat:*=subscribe,publish)`);
    const list = arg
      .slice(at + 1)
      .split(",")
      .map((r) => r.trim())
      .filter((r) => r !== "");
    for (const right of list)
      if (!known.has(right)) throw new Error(`--cap ${arg}: unknown right ${right} (${rights.join(", ")})`);
    cap[pattern] = [...new Set([...(cap[pattern] ?? []), ...(list as Right[])])];
  }
  return cap;
}
