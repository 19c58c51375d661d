export type {
  ApiChannel,
  ApiErrorCode,
  ApiPublication,
  ApiPublishResult,
  Capabilities,
  PresenceUser,
  WebhookBody,
  WebhookEvent,
  WebhookEventName,
} from "@rocket/protocol";
export { createServerClient, type HubOption, type Published, type ServerClient, type ServerClientOptions } from "./client.js";
export { ClientErrorCode, RocketApiError } from "./errors.js";
export { mintToken, type SigningOptions, type TokenClaims } from "./token.js";
export { verifyWebhook } from "./webhook.js";
