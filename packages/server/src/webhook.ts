import { createHmac, timingSafeEqual } from "node:crypto";
import type { WebhookBody } from "@rocket/protocol";

/**
 * Checks a webhook POST: `signature` is its `X-Rocket-Signature` header, `body` the raw
 * body exactly as received (before any JSON parsing). Returns the parsed body when the
 * signature is the HMAC-SHA256 of that body with `secret` (`Webhooks.Secret`), undefined
 * otherwise. Compared in constant time.
 */
export function verifyWebhook(body: string | Uint8Array, signature: string | undefined, secret: string): WebhookBody | undefined {
  const raw = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`);
  const given = Buffer.from(signature ?? "");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    return JSON.parse(raw.toString("utf8")) as WebhookBody;
  } catch {
    return undefined;
  }
}
