import type { TemplatedApp, WebSocket } from "uWebSockets.js";
import type { Bus, ChannelRegistry } from "@rocket/bus";
import type { Logger } from "pino";
import type { Config, HubConfig } from "./config.js";
import { createFanOut } from "./fan-out.js";
import { createHistoryReader } from "./history-reader.js";
import { registerHttpRoutes } from "./http-routes.js";
import { createHub, type Hub } from "./hub.js";
import { createLifecycle, type Listener } from "./lifecycle.js";
import type { Metrics } from "./metrics.js";
import { createPublisher } from "./publisher.js";
import { createRecovery } from "./recovery.js";
import { createSocketHandlers, type SocketData } from "./socket-handlers.js";
import type { StaticFile } from "./static-files.js";
import { createSubscriber } from "./subscriber.js";
import { createTokenVerifier } from "./token-verifier.js";
import type { Uws } from "./uws-native.js";

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
  readonly staticFiles?: ReadonlyMap<string, StaticFile> | undefined;
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

  const recovery = createRecovery(bus);
  const fanOut = createFanOut({
    app,
    hubs,
    connections,
    recovery,
    maxBackpressureBytes: config.maxBackpressureBytes,
    deliverLatency: metrics.busPublishDeliver,
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
    onRunning: () => fanOut.start(),
    afterDrain: async () => {
      fanOut.stop();
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
  config.hubs.forEach((hubConfig, i) => {
    const hub = hubs[i] as Hub;
    const publisher = createPublisher(hub, bus, registry);
    const subscriber = createSubscriber(hub, bus, registry, recovery);
    const history = createHistoryReader(hub, bus);
    const tokens = hubConfig.tokens ? createTokenVerifier(hubConfig.tokens) : undefined;
    app.ws<SocketData>(hub.path, hubBehavior({ hub, publisher, subscriber, history, decodeOptions, tokens, limits }));
  });

  const probes = { metrics, isReady: lifecycle.isReady, readiness: lifecycle.readiness, version: deps.version };
  registerHttpRoutes(app, { ...probes, hubs, staticFiles: deps.staticFiles, serveMetrics: config.metricsPort === undefined });
  const listeners: Listener[] = [{ app, port: config.port, closeOnDrain: true }];
  if (config.metricsPort !== undefined) {
    const metricsApp = uws.App();
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
