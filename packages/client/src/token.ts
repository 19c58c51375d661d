/**
 * When a token expires, in epoch ms, read from its payload's `exp` without verifying
 * anything (the server does that): undefined when the token is not a JWT with a numeric `exp`.
 */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const base64 = payload
      .replace(/-/g, "+")
      .replace(/_/g, "/")
      .padEnd(Math.ceil(payload.length / 4) * 4, "=");
    const json = new TextDecoder().decode(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long before `expiresAtMs` to fetch and present the next token: a fifth of the time left
 * at `nowMs`, between 1 s and 60 s, so that a slow `getToken` and a slow network still make it.
 */
export function refreshLeadMs(expiresAtMs: number, nowMs: number): number {
  return Math.min(60_000, Math.max(1000, (expiresAtMs - nowMs) / 5));
}

/** A Retry-After header's wait, ms: only its delay-seconds form. */
export function retryAfterMs(header: unknown): number | undefined {
  if (typeof header !== "string" || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}
