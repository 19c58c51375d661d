import { createPublicKey, type KeyObject, webcrypto } from "node:crypto";
import { type Capabilities, ErrorCode, parseCapabilities } from "@rocket/protocol";
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { TokenConfig } from "./config.js";

/** What a token check concluded. */
export type TokenCheck =
  | {
      readonly ok: true;
      /** The user the token names (`sub`), if any. */
      readonly sub: string | undefined;
      readonly cap: Capabilities;
      /** When the session must end unless refreshed: `exp` plus the hub's leeway, in epoch ms. */
      readonly expiresAtMs: number;
    }
  | {
      readonly ok: false;
      /**
       * `invalid_credentials` or `token_expired`: refused. `unavailable`: the keys could not be
       * fetched (JWKS), nothing was decided.
       */
      readonly code: typeof ErrorCode.InvalidCredentials | typeof ErrorCode.TokenExpired | typeof ErrorCode.Unavailable;
      /** Why, for debug logs (never the token). */
      readonly reason: string;
    };

/** Checks tokens for one hub. */
export interface TokenVerifier {
  verify(token: string): Promise<TokenCheck>;
}

export interface TokenVerifierOptions {
  /** A JWKS is fetched again for an unknown `kid` at most this often. Default 1000. */
  readonly jwksCooldownMs?: number;
  /** Longest wait for a JWKS fetch. Default 5000. */
  readonly jwksTimeoutMs?: number;
  /** Keys of a JWKS are fetched again after this long even when every `kid` is known. Default 10 minutes. */
  readonly jwksMaxAgeMs?: number;
}

const hmac = ["HS256", "HS384", "HS512"];
const asymmetric = ["RS256", "ES256", "EdDSA"];

/**
 * Token verification with `jose`. The algorithms a hub accepts follow its key and nothing
 * else: HS256/384/512 for a secret, the one its type implies for a public key, RS256, ES256
 * and EdDSA for a JWKS (each key by its type). So a token can never choose a weaker
 * algorithm, nor pass an RSA public key off as an HMAC secret. Keys are made once: a public
 * key as a KeyObject (jose caches its CryptoKey per algorithm), a secret as one CryptoKey per
 * HMAC algorithm.
 */
export function createTokenVerifier(config: TokenConfig, options: TokenVerifierOptions = {}): TokenVerifier {
  let key: KeyObject | JWTVerifyGetKey;
  let algorithms: string[];
  switch (config.key.kind) {
    case "secret":
      key = hmacKeys(Buffer.from(config.key.secret, "utf8"));
      algorithms = hmac;
      break;
    case "public-key":
      key = createPublicKey(config.key.pem);
      algorithms = [config.key.algorithm];
      break;
    case "jwks":
      key = createRemoteJWKSet(new URL(config.key.url), {
        cooldownDuration: options.jwksCooldownMs ?? 1000,
        timeoutDuration: options.jwksTimeoutMs ?? 5000,
        cacheMaxAge: options.jwksMaxAgeMs ?? 600_000,
      });
      algorithms = asymmetric;
      break;
  }
  const verifyOptions = {
    algorithms,
    clockTolerance: config.leewaySeconds,
    requiredClaims: ["exp"],
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    ...(config.audience === undefined ? {} : { audience: config.audience }),
  };
  const leewayMs = config.leewaySeconds * 1000;
  const remote = config.key.kind === "jwks";

  return {
    async verify(token) {
      let payload: Record<string, unknown>;
      try {
        // Both overloads of jwtVerify, one call site: the key is a KeyObject or a JWKS resolver.
        const verified =
          typeof key === "function" ? await jwtVerify(token, key, verifyOptions) : await jwtVerify(token, key, verifyOptions);
        payload = verified.payload;
      } catch (err) {
        return refused(err, remote);
      }
      const { sub, exp } = payload;
      if (sub !== undefined && typeof sub !== "string") return invalid("sub is not a string");
      if (typeof exp !== "number") return invalid("exp is not a number");
      const cap = parseCapabilities(payload.cap);
      if (!cap.ok) return invalid(cap.reason);
      return { ok: true, sub, cap: cap.cap, expiresAtMs: exp * 1000 + leewayMs };
    },
  };
}

/**
 * The hub's secret as one WebCrypto key per HMAC algorithm, imported at its first use. Given
 * the secret's bytes or a KeyObject, jose imports it again at every verification, which was
 * most of the CPU of opening a token session. jose checks `alg` against the hub's algorithms
 * before it asks for the key, so at most three keys are ever made.
 */
function hmacKeys(secret: Uint8Array): JWTVerifyGetKey {
  const keys = new Map<string, Promise<webcrypto.CryptoKey>>();
  return ({ alg }) => {
    let key = keys.get(alg);
    if (key === undefined) {
      key = webcrypto.subtle.importKey("raw", secret, { name: "HMAC", hash: `SHA-${alg.slice(2)}` }, false, ["verify"]);
      keys.set(alg, key);
    }
    return key;
  };
}

function invalid(reason: string): TokenCheck {
  return { ok: false, code: ErrorCode.InvalidCredentials, reason };
}

/** A failed `jwtVerify`, judged; `remote`: the keys come from a JWKS, whose fetch may fail. */
function refused(err: unknown, remote: boolean): TokenCheck {
  if (err instanceof errors.JWTExpired) return { ok: false, code: ErrorCode.TokenExpired, reason: err.message };
  // The keys could not be had (timeout, an error status, a body that is no JWKS, a network or
  // TLS failure, which fetch throws as a TypeError): the token was not judged, so it is not
  // held against the client.
  const unfetched =
    err instanceof errors.JWKSTimeout ||
    err instanceof errors.JWKSInvalid ||
    (err instanceof errors.JOSEError && err.code === "ERR_JOSE_GENERIC") ||
    err instanceof TypeError;
  if (remote && unfetched) return { ok: false, code: ErrorCode.Unavailable, reason: (err as Error).message };
  if (err instanceof errors.JOSEError) return invalid(`${err.code}: ${err.message}`);
  return invalid(err instanceof Error ? err.message : String(err));
}
