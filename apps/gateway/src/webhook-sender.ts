import { createHmac } from "node:crypto";
import type { AudienceEvent, EventBatch, EventQueue } from "@rocket/bus";
import { type WebhookBody, type WebhookEvent, webhookSignatureHeader } from "@rocket/protocol";
import type { Logger } from "pino";
import type { WebhookConfig } from "./config.js";

/** Most events in one POST. */
export const maxWebhookBatch = 100;
/** How long an empty queue is left alone before it is read again, and the retry backoff. */
export interface WebhookTimings {
  readonly idlePollMs: number;
  readonly firstRetryMs: number;
  readonly maxRetryMs: number;
}

/** An empty queue is read again after 250 ms; a failed POST is sent again after 1 s, doubling up to 10 s. */
export const webhookTimings: WebhookTimings = { idlePollMs: 250, firstRetryMs: 1000, maxRetryMs: 10_000 };

export interface WebhookSenderDeps {
  readonly config: WebhookConfig;
  readonly queue: EventQueue;
  /** The hub and channel of a topic; undefined for a topic of no hub (its events are dropped). */
  readonly channelOf: (topic: string) => { readonly hub: string; readonly channel: string } | undefined;
  readonly metrics: WebhookMetrics;
  readonly logger: Logger;
  /** Sends one POST; the global `fetch` (undici, keep-alive) unless a test gives another. */
  readonly fetch?: typeof fetch;
  /** Default {@link webhookTimings}. */
  readonly timings?: WebhookTimings;
}

/** The counters the sender moves. */
export interface WebhookMetrics {
  /** Events delivered (a 2xx answer). */
  sent(events: number): void;
  /** POSTs that failed: no answer in time, a network error, or a status other than 2xx. */
  failed(): void;
  /** POSTs sent again after a failure. */
  retried(): void;
  /** Events waiting or held in the cluster's queue. */
  depth(events: number): void;
}

/** The body and its signature header value: `sha256=<hex HMAC-SHA256 of the body>`. */
export function signWebhook(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

/**
 * Sends the cluster's audience events to `Webhooks.Url`, from the queue every node shares
 * (each event is taken by one node): up to {@link maxWebhookBatch} events per POST, signed
 * with HMAC-SHA256 of the raw body, a batch acknowledged only on a 2xx answer and otherwise
 * sent again with backoff, the node keeping its hold on the events meanwhile. Runs beside
 * everything else: nothing on the publish or subscribe path waits for it.
 */
export interface WebhookSender {
  start(): void;
  /** Stops taking events; a batch being retried is left for another node. Resolves once the loop ended. */
  stop(): Promise<void>;
}

export function createWebhookSender(deps: WebhookSenderDeps): WebhookSender {
  const { config, queue, metrics, logger } = deps;
  const { idlePollMs, firstRetryMs, maxRetryMs } = deps.timings ?? webhookTimings;
  const send = deps.fetch ?? fetch;
  const wanted = new Set(config.events);
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const bodyOf = (events: readonly AudienceEvent[]): WebhookEvent[] =>
    events.flatMap((event) => {
      const where = deps.channelOf(event.topic);
      if (where === undefined || !wanted.has(event.name)) return [];
      const user = event.user === undefined ? undefined : (JSON.parse(event.user) as string);
      return [{ name: event.name, hub: where.hub, channel: where.channel, ...(user === undefined ? {} : { user }) }];
    });

  /** One POST; true on a 2xx answer. */
  const post = async (events: readonly WebhookEvent[]): Promise<boolean> => {
    const body = JSON.stringify({ time_ms: Date.now(), events } satisfies WebhookBody);
    try {
      const res = await send(config.url, {
        method: "POST",
        headers: { "content-type": "application/json", [webhookSignatureHeader]: signWebhook(body, config.secret) },
        body,
        signal: AbortSignal.timeout(config.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return true;
      logger.warn({ status: res.status, url: config.url }, "webhook refused; retrying");
    } catch (err) {
      logger.warn({ err: (err as Error).message, url: config.url }, "webhook failed; retrying");
    }
    metrics.failed();
    return false;
  };

  /** Delivers one batch, retrying with backoff until it goes through or the sender stops. */
  const deliver = async (batch: EventBatch): Promise<boolean> => {
    const events = bodyOf(batch.events);
    if (events.length === 0) return true;
    let retryMs = firstRetryMs;
    for (;;) {
      if (await post(events)) {
        metrics.sent(events.length);
        return true;
      }
      await sleep(retryMs);
      if (!running) return false;
      retryMs = Math.min(retryMs * 2, maxRetryMs);
      await queue.keep(batch).catch(() => {});
      metrics.retried();
    }
  };

  const run = async (): Promise<void> => {
    while (running) {
      let batch: EventBatch;
      try {
        batch = await queue.take(maxWebhookBatch);
        metrics.depth(await queue.depth());
      } catch {
        await sleep(idlePollMs * 4);
        continue;
      }
      if (batch.ids.length === 0) {
        await sleep(idlePollMs);
        continue;
      }
      if (!(await deliver(batch))) return;
      // Delivered: a failed acknowledgement means the batch is sent again later (at least once).
      await queue.ack(batch).catch((err: unknown) => logger.debug({ err }, "webhook acknowledgement failed"));
    }
  };

  return {
    start() {
      if (running) return;
      running = true;
      loop = run().catch((err: unknown) => logger.error({ err }, "webhook sender stopped"));
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
  };
}
