import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { type JWTPayload, SignJWT, UnsecuredJWT } from "jose";

/** An HMAC secret long enough for a hub's Tokens.Secret. */
export const tokenSecret = "test-token-secret-0123456789-abcdefghij";

export interface SignOptions {
  /** HS256 by default. */
  readonly alg?: string;
  /** The HMAC secret or private key; default {@link tokenSecret}. */
  readonly key?: string | KeyObject;
  readonly kid?: string;
  /** Seconds from now until exp; default 60. Ignored when the claims give exp. */
  readonly ttl?: number;
}

/** Signs `claims` (exp filled in unless given or set to undefined) as a test token. */
export function sign(
  claims: Omit<JWTPayload, "exp"> & { cap?: unknown; exp?: number | undefined },
  options: SignOptions = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { iat: now, exp: now + (options.ttl ?? 60), ...claims };
  if ("exp" in claims && claims.exp === undefined) delete payload.exp;
  const key = options.key ?? tokenSecret;
  const alg = options.alg ?? "HS256";
  return new SignJWT(payload)
    .setProtectedHeader({ alg, typ: "JWT", ...(options.kid ? { kid: options.kid } : {}) })
    .sign(typeof key === "string" ? new TextEncoder().encode(key) : key);
}

/** A token with `alg: none`, which no hub accepts. */
export function unsigned(claims: JWTPayload): string {
  return new UnsecuredJWT({ exp: Math.floor(Date.now() / 1000) + 60, ...claims }).encode();
}

/** A key pair of each kind a public-key hub accepts, with the algorithm it implies. */
export function keyPair(kind: "RS256" | "ES256" | "EdDSA"): { privateKey: KeyObject; publicKey: KeyObject; pem: string } {
  const pair =
    kind === "RS256"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : kind === "ES256"
        ? generateKeyPairSync("ec", { namedCurve: "P-256" })
        : generateKeyPairSync("ed25519");
  return { ...pair, pem: pair.publicKey.export({ type: "spki", format: "pem" }).toString() };
}
