export {
  type ApiBatchRequest,
  type ApiBatchResponse,
  type ApiChannel,
  type ApiChannelsResponse,
  type ApiDisconnectRequest,
  type ApiDisconnectResponse,
  type ApiError,
  ApiErrorCode,
  ApiPath,
  type ApiPresenceResponse,
  type ApiPublication,
  type ApiPublishResult,
  apiErrorCodes,
  apiErrorStatus,
  type Decoded as DecodedApiBody,
  type DecodedPublication,
  decodeApiBatch,
  decodeApiDisconnect,
  decodeApiPublish,
  defaultApiHub,
  maxBatchBodyBytes,
  maxBatchPublications,
  type WebhookBody,
  type WebhookEvent,
  type WebhookEventName,
  webhookEvents,
  webhookSignatureHeader,
} from "./api.js";
export {
  type Capabilities,
  isChannelPattern,
  type ParsedCapabilities,
  parseCapabilities,
  Right,
  rights,
} from "./capabilities.js";
export { checkChannelName, maxChannelNameBytes } from "./channel.js";
export { CloseCode, closeCodes, ErrorCode, errorCodes } from "./codes.js";
export {
  type AuthCommand,
  assertNever,
  type Command,
  type CommandType,
  commandTypes,
  type Decoded,
  type DecodeError,
  type Delivery,
  type DisconnectCommand,
  type HistoryCommand,
  type LogoutCommand,
  type PresenceCommand,
  type PresenceUser,
  type PublishCommand,
  type Reply,
  type SecretAuthCommand,
  type Since,
  type StreamPosition,
  type SubscribeCommand,
  type TokenAuthCommand,
  type UnsubscribeCommand,
} from "./commands.js";
export {
  type Access,
  AccessLevel,
  accessLevelOf,
  authenticate,
  type HubSecrets,
  parseAccess,
  secretsEqual,
} from "./credentials.js";
export { type DecodeOptions, decode } from "./decode.js";
export {
  deliveryPositionParts,
  encodeDelivery,
  encodeDeliveryHead,
  encodeHistoryReply,
  encodePresenceReply,
  encodeReply,
  encodeSubscribeReply,
  errorReply,
  okReply,
} from "./encode.js";
export { type CommandToSend, encodeCommand, type PublishToSend } from "./encode-command.js";
export { JsonByte } from "./json-bytes.js";
export { type RawMember, rawMembers } from "./json-members.js";
export {
  type CloseCodeLabel,
  closeCodeLabel,
  closeCodeLabels,
  LimitLabel,
  limitLabels,
  RateLimitLabel,
  rateLimitLabels,
} from "./metric-labels.js";
export { type FrameExtras, parseServerFrame, type ServerFrame } from "./parse-server-frame.js";
export {
  encodePresenceEvent,
  encodeUnsubscribed,
  isReservedEvent,
  presenceFrameParts,
  reservedEventPrefix,
  ServerEvent,
} from "./server-events.js";
