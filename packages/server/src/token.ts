import type { Capabilities } from "@rocket/protocol";
import { SignJWT } from "jose";

/** What a token says about its user. */
export interface TokenClaims {
  /** The user id: what presence shows and `disconnect` names. */
  readonly sub: string;
  /** Channel pattern -> rights, e.g. `{"chat:*": ["subscribe", "publish"], "user:alice": ["subscribe"]}`. */
  readonly cap: Capabilities;
  /** Lifetime, seconds (a number) or a span (`"15m"`, `"1h"`, `"7d"`). */
  readonly ttl: number | string;
}

/** How a token is signed: the hub's `Tokens.Secret`, and its `Issuer`/`Audience` if it sets them. */
export interface SigningOptions {
  readonly secret: string;
  readonly issuer?: string;
  readonly audience?: string;
}

/**
 * Signs a token for a user (HS256 with the hub's secret), for the page to pass to
 * `{"auth":{"token":…}}` or to `@rocket/client`'s `token`/`getToken`.
 */
export async function mintToken(claims: TokenClaims, options: SigningOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ cap: claims.cap })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuedAt(now)
    .setExpirationTime(typeof claims.ttl === "number" ? now + Math.max(1, Math.round(claims.ttl)) : claims.ttl);
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(options.secret));
}
