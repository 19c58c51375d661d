import {
  type BusLogger,
  type BusObserver,
  type DeliverFn,
  dropDelivery,
  type GapFn,
  ignoreGap,
  secondGapHandlerError,
  secondHandlerError,
} from "./bus.js";
import type { Canary } from "./redis-canary.js";
import { type Envelope, readEnvelope, stampBytes } from "./redis-envelope.js";
import { GapFiller } from "./redis-gap-fill.js";
import type { RedisLink } from "./redis-link.js";
import type { Subscriptions } from "./redis-subscriptions.js";

export interface RedisReceiverDeps {
  readonly link: RedisLink;
  readonly subscriptions: Subscriptions;
  readonly canary: Canary;
  /** Whether history reads may still be tried (the bus is not closing). */
  readonly active: () => boolean;
  readonly observer?: BusObserver | undefined;
  readonly logger?: BusLogger | undefined;
}

/**
 * The receive path of the Redis bus: a message from the subscriber connections goes to the
 * delivery handler (plain topics) or through the gap filler (topics with history), canary
 * messages to the canary. One map lookup, no parse, no copy.
 */
export class RedisReceiver {
  private deliver: DeliverFn = dropDelivery;
  private gap: GapFn = ignoreGap;
  /** Keeps the deliveries of topics with history gapless (redis-gap-fill.ts). */
  readonly filler: GapFiller;

  constructor(private readonly deps: RedisReceiverDeps) {
    const { link, observer, logger } = deps;
    this.filler = new GapFiller({
      read: (keys, after, count) => link.scripts.read(keys, { mode: "after", after, count, start: undefined }),
      position: (keys) => link.scripts.position(keys),
      deliver: (topic, envelope) => this.hand(topic, envelope),
      lost: (topic) => {
        try {
          this.gap(topic);
        } catch (err) {
          logger?.error({ err, topic }, "gap handler failed");
        }
      },
      active: deps.active,
      observer,
      logger,
    });
  }

  onDeliver(handler: DeliverFn): void {
    if (this.deliver !== dropDelivery) throw secondHandlerError();
    this.deliver = handler;
  }

  onGap(handler: GapFn): void {
    if (this.gap !== ignoreGap) throw secondGapHandlerError();
    this.gap = handler;
  }

  /** A message from a subscriber connection. */
  receive(channel: Buffer, payload: Buffer): void {
    const key = channel.toString("latin1");
    const entry = this.deps.subscriptions.byKey.get(key);
    if (entry === undefined) {
      this.deps.canary.receive(key, payload);
      return;
    }
    // Leaving: the node unsubscribed; what Redis still sends until it confirmed is nobody's.
    if (entry.refs === 0) return;
    if (entry.track) {
      const envelope = readEnvelope(payload);
      if (envelope) this.filler.offer(entry.track, envelope);
      return;
    }
    if (payload.length < stampBytes) return;
    try {
      this.deliver(entry.topic, payload.subarray(stampBytes), payload.readDoubleLE(0));
    } catch (err) {
      this.deps.logger?.error({ err, topic: entry.topic }, "delivery failed");
    }
  }

  /** Hands a message of a topic with history to the delivery handler. */
  private hand(topic: string, envelope: Envelope): void {
    try {
      this.deliver(topic, envelope.frame, envelope.publishedAtMs, envelope.position);
    } catch (err) {
      this.deps.logger?.error({ err, topic }, "delivery failed");
    }
  }
}
