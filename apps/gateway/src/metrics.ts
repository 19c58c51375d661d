import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { FastHistogram } from "./fast-histogram.js";

/** Latency buckets in seconds, from 50 µs (loopback Redis) to 5 s (outage). */
const latencyBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Every metric the gateway exports, declared once, on a registry of its own. Labels are
 * low-cardinality by construction: hub paths come from the config, commands and codes from
 * the protocol's tables; never a channel or a client.
 */
export function createMetrics(options: { version: string; redis: boolean }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // promtool rejects gauges named *_total; these three are sums of nodejs_active_*{type}.
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) {
    registry.removeSingleMetric(name);
  }
  const r = [registry];

  let readySource: () => boolean = () => false;
  const scrapeHooks: (() => void)[] = [];

  const metrics = {
    registry,
    buildInfo: new Gauge({
      name: "rocket_build_info",
      help: "Always 1; labels carry the version.",
      labelNames: ["version", "nodejs"],
      registers: r,
    }),
    connectionsOpen: new Gauge({
      name: "rocket_connections_open",
      help: "WebSocket connections open now.",
      labelNames: ["hub"],
      registers: r,
    }),
    connectionsOpened: new Counter({
      name: "rocket_connections_opened_total",
      help: "WebSocket connections accepted.",
      labelNames: ["hub"],
      registers: r,
    }),
    connectionsClosed: new Counter({
      name: "rocket_connections_closed_total",
      help: "WebSocket connections closed, by the close code either side sent (1000, 1001, 1006, 1009, 4001, 4008, 4029, 4501, ... or other).",
      labelNames: ["hub", "code"],
      registers: r,
    }),
    upgradesRefused: new Counter({
      name: "rocket_upgrades_refused_total",
      help: "WebSocket upgrades refused, by reason (origin, draining, full, rate).",
      labelNames: ["hub", "reason"],
      registers: r,
    }),
    connectionsMax: new Gauge({
      name: "rocket_connections_max",
      help: "Most WebSocket connections this node holds (MaxConnections, or the open-file limit less a reserve); past it upgrades are refused as full.",
      registers: r,
    }),
    framesReceived: new Counter({
      name: "rocket_frames_received_total",
      help: "Client frames received, by command (invalid for frames that did not decode).",
      labelNames: ["hub", "command"],
      registers: r,
    }),
    replies: new Counter({
      name: "rocket_replies_total",
      help: "Replies sent, by code (ok or the error code).",
      labelNames: ["hub", "code"],
      registers: r,
    }),
    publishesAccepted: new Counter({
      name: "rocket_publishes_accepted_total",
      help: "Publishes acknowledged with ok.",
      labelNames: ["hub"],
      registers: r,
    }),
    messagesDelivered: new Counter({
      name: "rocket_messages_delivered_total",
      help: "Messages handed to local subscribers (one per subscriber per publish).",
      labelNames: ["hub"],
      registers: r,
    }),
    bytesReceived: new Counter({
      name: "rocket_bytes_received_total",
      help: "Bytes of client frames received.",
      labelNames: ["hub"],
      registers: r,
    }),
    bytesSent: new Counter({
      name: "rocket_bytes_sent_total",
      help: "Bytes of frames sent to clients (replies and deliveries).",
      labelNames: ["hub"],
      registers: r,
    }),
    limitBreaches: new Counter({
      name: "rocket_limit_breaches_total",
      help: "Frames or clients over a configured limit, by limit (payload, depth, channel_name, backpressure: a slow consumer, closed with 4008, subscriptions, auth_failures).",
      labelNames: ["hub", "limit"],
      registers: r,
    }),
    authAttempts: new Counter({
      name: "rocket_auth_total",
      help: "auth commands answered, by method (secret, token) and result (ok, invalid, expired).",
      labelNames: ["hub", "method", "result"],
      registers: r,
    }),
    rateLimited: new Counter({
      name: "rocket_rate_limited_total",
      help: "Frames answered rate_limited, by the limit they ran into (commands, publishes).",
      labelNames: ["hub", "limit"],
      registers: r,
    }),
    busRegistryExpired: new Counter({
      name: "rocket_bus_registry_expired_total",
      help: "Channels this node removed from the channel registry after ChannelTtlSeconds without subscriber or publish.",
      registers: r,
    }),
    busPublishAck: new FastHistogram(
      "rocket_bus_publish_ack_seconds",
      "Time from handing a publish to the bus until it was acknowledged (Redis answered).",
      latencyBuckets,
      registry,
    ),
    busPublishDeliver: new FastHistogram(
      "rocket_bus_publish_deliver_seconds",
      "Time from the origin node's publish until this node delivered it (origin timestamp carried in the bus envelope).",
      latencyBuckets,
      registry,
    ),
    busPublishFailures: new Counter({
      name: "rocket_bus_publish_failures_total",
      help: "Publishes answered unavailable (bus down or timed out).",
      registers: r,
    }),
    busUp: new Gauge({
      name: "rocket_bus_up",
      help: "1 while the bus's upstream (Redis) connections are up; always 1 on the in-process bus.",
      registers: r,
    }),
    busReconnects: new Counter({
      name: "rocket_bus_reconnects_total",
      help: "Times the bus reconnected to Redis after losing it.",
      registers: r,
    }),
    busSubscribedTopics: new Gauge({
      name: "rocket_bus_subscribed_channels",
      help: "Bus (Redis) channels this node is subscribed to.",
      registers: r,
    }),
    busRegistryChannels: new Gauge({
      name: "rocket_bus_registry_channels",
      help: "Channels in this node's cache of the cluster-wide channel registry.",
      registers: r,
    }),
    canaryFailures: new Counter({
      name: "rocket_bus_canary_failures_total",
      help: "Pub/sub liveness canaries that did not come back in time (subscriber connection rebuilt).",
      registers: r,
    }),
    historyFilled: new Counter({
      name: "rocket_bus_history_filled_messages_total",
      help: "Messages this node missed on channels with history and read back from the history before delivering anything newer.",
      registers: r,
    }),
    historyLost: new Counter({
      name: "rocket_bus_history_gaps_lost_total",
      help: "Gaps this node could not fill (history lost, trimmed or expired): the channel's subscribers here were closed with 4010.",
      registers: r,
    }),
    apiRequests: new Counter({
      name: "rocket_api_requests_total",
      help: "HTTP API requests answered, by endpoint (publish, batch, channels, presence, disconnect, other) and code (ok or the error code).",
      labelNames: ["endpoint", "code"],
      registers: r,
    }),
    webhookEventsSent: new Counter({
      name: "rocket_webhook_events_sent_total",
      help: "Webhook events this node delivered (the endpoint answered 2xx).",
      registers: r,
    }),
    webhookFailures: new Counter({
      name: "rocket_webhook_requests_failed_total",
      help: "Webhook POSTs that failed (no answer in time, a network error, or a status other than 2xx); each is sent again.",
      registers: r,
    }),
    webhookRetries: new Counter({
      name: "rocket_webhook_retries_total",
      help: "Webhook POSTs sent again after a failure.",
      registers: r,
    }),
    webhookQueueDepth: new Gauge({
      name: "rocket_webhook_queue_depth",
      help: "Webhook events waiting or being sent, cluster-wide, as this node last read it.",
      registers: r,
    }),
    audienceReaped: new Counter({
      name: "rocket_presence_nodes_reaped_total",
      help: "Gateways gone whose audience (users, subscriber marks) this node removed, with the leaves that follow.",
      registers: r,
    }),
    audienceFailures: new Counter({
      name: "rocket_presence_updates_failed_total",
      help: "Updates of this node's part of the cluster audience that Redis did not take (each is retried).",
      registers: r,
    }),
    ready: new Gauge({
      name: "rocket_ready",
      help: "1 when /readyz answers 200 (accepting clients and, in cluster mode, Redis usable).",
      registers: r,
      collect() {
        this.set(readySource() ? 1 : 0);
      },
    }),
    /** Registers work to do before each scrape (adding up counts kept off the hot path). */
    beforeScrape(hook: () => void): void {
      scrapeHooks.push(hook);
    },
    /** The exposition text, after the scrape hooks ran. */
    scrape(): Promise<string> {
      for (const hook of scrapeHooks) hook();
      return registry.metrics();
    },
    /** Tells the `rocket_ready` gauge where readiness comes from. */
    readiness(source: () => boolean): void {
      readySource = source;
    },
  };
  metrics.buildInfo.set({ version: options.version, nodejs: process.version }, 1);
  // Down until the Redis bus says it connected; the in-process bus is always "up".
  metrics.busUp.set(options.redis ? 0 : 1);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
