import {
  type ApiChannel,
  ApiErrorCode,
  type ApiPublishResult,
  apiErrorStatus,
  assertNever,
  checkChannelName,
  type DecodedApiBody,
  type DecodedPublication,
  decodeApiBatch,
  decodeApiDisconnect,
  decodeApiPublish,
  defaultApiHub,
  ErrorCode,
  isReservedEvent,
} from "@rocket/protocol";
import type { Logger } from "pino";
import type { HubAudience } from "./audience.js";
import type { Publisher } from "./publisher.js";
import type { Survey, SurveyAnswer } from "./survey.js";

/** What the API needs of one hub. */
export interface ApiHub {
  readonly publisher: Publisher;
  readonly audience: HubAudience;
}

export interface ApiHandlerDeps {
  readonly hubs: ReadonlyMap<string, ApiHub>;
  readonly survey: Survey;
  readonly logger: Logger;
}

/** An answer: the HTTP status and the JSON body. */
export interface ApiAnswer {
  readonly status: number;
  readonly body: object;
}

/** The operations behind the endpoints, each from its decoded input to its answer. */
export interface ApiHandlers {
  publish(body: string): Promise<ApiAnswer>;
  batch(body: string): Promise<ApiAnswer>;
  channels(query: URLSearchParams): Promise<ApiAnswer>;
  presence(query: URLSearchParams): Promise<ApiAnswer>;
  disconnect(body: string): Promise<ApiAnswer>;
}

/** The answer of an error code. */
export function apiError(code: ApiErrorCode): ApiAnswer {
  return { status: apiErrorStatus[code], body: { err: code } };
}

const ok = (body: object = {}): ApiAnswer => ({ status: 200, body: { ok: true, ...body } });

export function createApiHandlers(deps: ApiHandlerDeps): ApiHandlers {
  const { hubs, survey, logger } = deps;

  /** One publication, checked then published through its hub's publisher. */
  const publishOne = async (decoded: DecodedApiBody<DecodedPublication>): Promise<ApiPublishResult> => {
    if (!decoded.ok) return { err: decoded.err };
    const { hub: path, event, dataJson } = decoded.value;
    const hub = hubs.get(path);
    if (hub === undefined) return { err: ApiErrorCode.NotFound };
    const channel = checkChannelName(decoded.value.channel);
    if (channel === ErrorCode.InvalidChannelName) return { err: ApiErrorCode.InvalidChannelName };
    // `__…` events are the server's own (`__join`, `__leave`): a backend may not forge them.
    if (isReservedEvent(event)) return { err: ApiErrorCode.InvalidData };
    const reply = await hub.publisher.publishCreating(channel, event, dataJson);
    if ("err" in reply) return { err: reply.err === ErrorCode.Unavailable ? ApiErrorCode.Unavailable : ApiErrorCode.InvalidData };
    return reply.position === undefined ? { ok: true } : { ok: true, offset: reply.position.offset, epoch: reply.position.epoch };
  };

  /** Every live node's answer to `question`, or `unavailable`. */
  const askAll = async (question: Parameters<Survey["ask"]>[0]): Promise<SurveyAnswer[] | ApiAnswer> => {
    try {
      return await survey.ask(question);
    } catch (err) {
      logger.debug({ err, what: `survey ${question.op}` }, "bus operation failed");
      return apiError(ApiErrorCode.Unavailable);
    }
  };

  const hubOf = (value: string | null): string => value ?? defaultApiHub;

  return {
    async publish(body) {
      const result = await publishOne(decodeApiPublish(body));
      return "err" in result ? apiError(result.err) : ok(result);
    },
    async batch(body) {
      const decoded = decodeApiBatch(body);
      if (!decoded.ok) return apiError(decoded.err);
      // In order, each after the one before it was accepted (or failed).
      const results: ApiPublishResult[] = [];
      for (const item of decoded.value) results.push(await publishOne(item));
      return ok({ results });
    },
    async channels(query) {
      const hub = hubOf(query.get("hub"));
      if (!hubs.has(hub)) return apiError(ApiErrorCode.NotFound);
      const answers = await askAll({ op: "channels", hub, prefix: query.get("prefix") ?? "" });
      if (!Array.isArray(answers)) return answers;
      const totals = new Map<string, number>();
      for (const answer of answers) {
        if (answer.op !== "channels") continue;
        for (const [channel, n] of answer.channels) totals.set(channel, (totals.get(channel) ?? 0) + n);
      }
      const channels: ApiChannel[] = [...totals]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([channel, subscribers]) => ({ channel, subscribers }));
      return ok({ channels });
    },
    async presence(query) {
      const hub = hubs.get(hubOf(query.get("hub")));
      if (hub === undefined) return apiError(ApiErrorCode.NotFound);
      const raw = query.get("channel");
      if (raw === null) return apiError(ApiErrorCode.InvalidData);
      const channel = checkChannelName(raw);
      if (channel === ErrorCode.InvalidChannelName) return apiError(ApiErrorCode.InvalidChannelName);
      try {
        return ok({ users: await hub.audience.users(channel) });
      } catch (err) {
        logger.debug({ err, what: "presence" }, "bus operation failed");
        return apiError(ApiErrorCode.Unavailable);
      }
    },
    async disconnect(body) {
      const decoded = decodeApiDisconnect(body);
      if (!decoded.ok) return apiError(decoded.err);
      const { hub, user } = decoded.value;
      if (!hubs.has(hub)) return apiError(ApiErrorCode.NotFound);
      const answers = await askAll({ op: "disconnect", hub, user });
      if (!Array.isArray(answers)) return answers;
      let closed = 0;
      for (const answer of answers) {
        switch (answer.op) {
          case "disconnect":
            closed += answer.closed;
            break;
          case "channels":
          case "unknown":
            break;
          default:
            assertNever(answer);
        }
      }
      return ok({ closed });
    },
  };
}
