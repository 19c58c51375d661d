import type { TemplatedApp, WebSocket } from "uWebSockets.js";
import type { Bus, ChannelRegistry, ClusterAudience, EventQueue, NodeDirectory } from "@rocket/bus";
import { assertNever } from "@rocket/protocol";
import type { Logger } from "pino";
import { type ApiHub, createApiHandlers } from "./api-handlers.js";
import { apiEndpoints, registerApiRoutes } from "./api-routes.js";
import { createAudience, type HubAudience } from "./audience.js";
import type { ClientBundle } from "./client-bundle.js";
import type { Config, HubConfig } from "./config.js";
import { createFanOut } from "./fan-out.js";
import { createHistoryReader } from "./history-reader.js";
import { registerHttpRoutes } from "./http-routes.js";
import { createHub, type Hub } from "./hub.js";
import { createLifecycle, type Listener } from "./lifecycle.js";
import type { Metrics } from "./metrics.js";
import { PendingJoins } from "./pending-joins.js";
import { createPresenceReader } from "./presence-reader.js";
import { createPublisher } from "./publisher.js";
import { RatePolicy } from "./rate-limits.js";
import { createRecovery } from "./recovery.js";
import { createSocketHandlers, type SocketData } from "./socket-handlers.js";
import type { StaticFile } from "./static-files.js";
import { createSubscriber } from "./subscriber.js";
import { createSurvey, type SurveyAnswer, type SurveyQuestion } from "./survey.js";
import { createTokenVerifier } from "./token-verifier.js";
import type { Uws } from "./uws-native.js";
import { createWebhookSender } from "./webhook-sender.js";

export interface GatewayDeps {
  readonly config: Config;
  readonly uws: Uws;
  readonly logger: Logger;
  /** The logger for one hub (its `Log` file, if any). */
  readonly hubLogger: (hub: HubConfig) => Logger;
  readonly metrics: Metrics;
  /** The bus; the gateway registers its delivery handler on it and closes it at the end of a drain. */
  readonly bus: Bus;
  /** The channel registry, on the bus's connections. */
  readonly registry: ChannelRegistry;
  /** Who is subscribed where, cluster-wide, on the bus's transport; the gateway closes it at the end of a drain. */
  readonly audience: ClusterAudience;
  /** The webhook events' queue (when webhooks are configured). */
  readonly queue?: EventQueue | undefined;
  /** The live nodes, for questions to all of them (the HTTP API). */
  readonly directory: NodeDirectory;
  readonly staticFiles?: ReadonlyMap<string, StaticFile> | undefined;
  /** The client SDK served at /rocket-client.js. */
  readonly clientBundle?: ClientBundle | undefined;
  readonly version: string;
  /** Most connections held at once (from MaxConnections or the open-file limit); more get 503. */
  readonly maxConnections: number;
}

export interface Gateway {
  /** Listens; resolves with the ports actually bound (0 in the config picks free ones). */
  start(): Promise<{ port: number; metricsPort: number | undefined }>;
  /** Drains: not ready, stop accepting, close clients with 1001 over the drain window, close the bus. Idempotent. */
  shutdown(): Promise<void>;
  /** Whether /readyz answers 200. */
  isReady(): boolean;
}

/**
 * One gateway node, wired: the uWS app with a path per hub (socket-handlers.ts), sessions
 * publishing and subscribing through each hub's publisher and subscriber, the bus delivering
 * to fan-out.ts, and the lifecycle (lifecycle.ts) for start and drain.
 */
export function createGateway(deps: GatewayDeps): Gateway {
  const { config, uws, logger, metrics, bus, registry } = deps;
  const hubs = config.hubs.map((h) => createHub(h, metrics, deps.hubLogger(h)));
  const app: TemplatedApp = config.tls
    ? uws.SSLApp({ cert_file_name: config.tls.certFile, key_file_name: config.tls.keyFile })
    : uws.App();
  const connections = new Set<WebSocket<SocketData>>();

  const audience = createAudience(hubs, deps.audience);
  deps.audience.onDescribe(audience.describe);
  const hubAudience = (hub: Hub) => audience.forHub(hub.path) as HubAudience;
  // Only a node with the API asks the others anything; without keys it needs no question topics.
  const survey =
    config.apiKeys.length === 0
      ? undefined
      : createSurvey({
          bus,
          directory: deps.directory,
          timeoutMs: config.publishTimeoutMs,
          answer: (question) => answerSurvey(question, audience.forHub(question.hub)),
          logger,
        });
  const webhooks =
    config.webhooks === undefined || deps.queue === undefined
      ? undefined
      : createWebhookSender({
          config: config.webhooks,
          queue: deps.queue,
          channelOf: (topic) => {
            const hub = hubs.find((h) => topic.startsWith(h.topicPrefix));
            return hub && { hub: hub.path, channel: topic.slice(hub.topicPrefix.length) };
          },
          metrics: {
            sent: (n) => metrics.webhookEventsSent.inc(n),
            failed: () => metrics.webhookFailures.inc(),
            retried: () => metrics.webhookRetries.inc(),
            depth: (n) => metrics.webhookQueueDepth.set(n),
          },
          logger,
        });

  const recovery = createRecovery(bus);
  const joins = new PendingJoins();
  const fanOut = createFanOut({
    app,
    hubs,
    connections,
    recovery,
    joins,
    maxBackpressureBytes: config.maxBackpressureBytes,
    deliverLatency: metrics.busPublishDeliver,
    other: survey?.receive,
  });
  bus.onDeliver(fanOut.deliver);
  bus.onGap(recovery.lost);

  const lifecycle = createLifecycle({
    uws,
    logger,
    host: config.host,
    drainTimeoutMs: config.drainTimeoutMs,
    connections,
    busReady: () => bus.isReady(),
    onRunning: () => {
      fanOut.start();
      survey?.start();
      webhooks?.start();
    },
    afterDrain: async () => {
      fanOut.stop();
      survey?.stop();
      await webhooks?.stop();
      // The leaves of the connections just closed go out before the bus does.
      await deps.audience.close();
      registry.close();
      await bus.close();
    },
  });
  metrics.readiness(lifecycle.isReady);

  const hubBehavior = createSocketHandlers({
    uws,
    logger,
    connections,
    accepting: () => lifecycle.state === "running",
    maxConnections: deps.maxConnections,
    maxConnectionsPerSecond: config.limits.connectionsPerSecond,
    maxPayloadBytes: config.maxPayloadBytes,
    maxBackpressureBytes: config.maxBackpressureBytes,
    idleTimeoutSeconds: config.idleTimeoutSeconds,
  });
  const decodeOptions = { maxDepth: config.maxDepth };
  const { limits } = config;
  const rates = new RatePolicy(limits);
  const apiHubs = new Map<string, ApiHub>();
  config.hubs.forEach((hubConfig, i) => {
    const hub = hubs[i] as Hub;
    const view = hubAudience(hub);
    const publisher = createPublisher(hub, bus, registry);
    const subscriber = createSubscriber(hub, bus, registry, recovery, joins, view);
    const history = createHistoryReader(hub, bus);
    const presence = createPresenceReader(view);
    const tokens = hubConfig.tokens ? createTokenVerifier(hubConfig.tokens) : undefined;
    apiHubs.set(hub.path, { publisher, audience: view });
    app.ws<SocketData>(
      hub.path,
      hubBehavior({ hub, publisher, subscriber, history, presence, audience: view, decodeOptions, tokens, limits, rates }),
    );
  });

  const probes = { metrics, isReady: lifecycle.isReady, readiness: lifecycle.readiness, version: deps.version };
  const metricsApp = config.metricsPort === undefined ? undefined : uws.App();
  if (survey !== undefined) {
    // On the metrics port when there is one: backends reach it, browsers (on the main port) do not.
    for (const endpoint of apiEndpoints) metrics.apiRequests.labels({ endpoint, code: "ok" }).inc(0);
    registerApiRoutes(metricsApp ?? app, {
      handlers: createApiHandlers({ hubs: apiHubs, survey, logger }),
      keys: config.apiKeys,
      maxPayloadBytes: config.maxPayloadBytes,
      count: (endpoint, code) => metrics.apiRequests.inc({ endpoint, code }),
      logger,
    });
  }
  registerHttpRoutes(app, {
    ...probes,
    hubs,
    staticFiles: deps.staticFiles,
    serveMetrics: metricsApp === undefined,
    clientBundle: deps.clientBundle,
  });
  const listeners: Listener[] = [{ app, port: config.port, closeOnDrain: true }];
  if (metricsApp !== undefined && config.metricsPort !== undefined) {
    registerHttpRoutes(metricsApp, { ...probes, hubs: [], staticFiles: undefined, serveMetrics: true });
    listeners.push({ app: metricsApp, port: config.metricsPort, closeOnDrain: false });
  }

  return {
    isReady: lifecycle.isReady,
    async start() {
      const [port = 0, metricsPort] = await lifecycle.start(listeners);
      return { port, metricsPort };
    },
    shutdown: lifecycle.shutdown,
  };
}

/** This node's answer to another node's question. */
function answerSurvey(question: SurveyQuestion, view: HubAudience | undefined): SurveyAnswer {
  if (view === undefined) return { op: "unknown" };
  switch (question.op) {
    case "channels":
      return { op: "channels", channels: view.localChannels(question.prefix) };
    case "disconnect":
      return { op: "disconnect", closed: view.disconnect(question.user) };
    default:
      return assertNever(question);
  }
}
