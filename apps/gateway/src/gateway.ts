import type { TemplatedApp, us_listen_socket, WebSocket } from "uWebSockets.js";
import { type Bus, type DeliverFn, nowMs } from "@rocket/bus";
import { CloseCode } from "@rocket/protocol";
import type { Logger } from "pino";
import type { Config, HubConfig } from "./config.js";
import { registerHttpRoutes } from "./http-routes.js";
import { createHub, type Hub } from "./hub.js";
import { closeCodeLabel, type Metrics } from "./metrics.js";
import { createReplyWriter, type WriterState } from "./reply-writer.js";
import { Session } from "./session.js";
import type { StaticFile } from "./static-files.js";
import type { Uws } from "./uws-native.js";

export interface GatewayDeps {
  readonly config: Config;
  readonly uws: Uws;
  readonly logger: Logger;
  /** The logger for one hub (its `Log` file, if any). */
  readonly hubLogger: (hub: HubConfig) => Logger;
  readonly metrics: Metrics;
  /** Builds the bus; the gateway hands it the function that fans deliveries out. */
  readonly createBus: (deliver: DeliverFn) => Bus;
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
  readonly bus: Bus;
}

interface SocketData extends WriterState {
  readonly hub: Hub;
  session?: Session;
}

type State = "created" | "running" | "draining" | "closed";

/** Clients are also checked for a send queue over MaxBackpressureBytes this often (replies queue too). */
const slowConsumerSweepMs = 1000;

/** The composition of one gateway node: uWS app, hubs, sessions, bus and fan-out. */
export function createGateway(deps: GatewayDeps): Gateway {
  const { config, uws, logger, metrics } = deps;
  const hubs = config.hubs.map((h) => createHub(h, metrics, deps.hubLogger(h)));
  const sockets = new Set<WebSocket<SocketData>>();
  const writer = createReplyWriter();
  const app: TemplatedApp = config.tls
    ? uws.SSLApp({ cert_file_name: config.tls.certFile, key_file_name: config.tls.keyFile })
    : uws.App();
  const listenSockets: us_listen_socket[] = [];
  let state: State = "created";
  let shutdownPromise: Promise<void> | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;

  const hubOfTopic = (topic: string): Hub | undefined => {
    for (const hub of hubs) if (topic.startsWith(hub.topicPrefix)) return hub;
    return undefined;
  };

  // The one way in from the bus: bytes go to uWS's C++ fan-out untouched.
  const deliver: DeliverFn = (topic, frame, publishedAtMs) => {
    const hub = hubOfTopic(topic);
    if (hub === undefined) return;
    const receivers = app.numSubscribers(topic);
    if (receivers === 0) return;
    app.publish(topic, frame, false, hub.compression);
    // No queue can have grown by more than the bytes published since the last check.
    bytesSinceSweep += frame.byteLength;
    if (bytesSinceSweep >= sweepEveryBytes && !sweepScheduled) {
      sweepScheduled = true;
      setImmediate(sweepSlowConsumers);
    }
    hub.counters.messagesDelivered.inc(receivers);
    hub.counters.bytesSent.inc(receivers * frame.byteLength);
    metrics.busPublishDeliver.observe(Math.max(0, nowMs() - publishedAtMs) / 1000);
  };

  const bus = deps.createBus(deliver);
  const isReady = () => state === "running" && bus.isReady();
  metrics.readiness(isReady);

  // uWS closes frames over its own limit without a close code; give it headroom and send 1009 ourselves.
  const uwsMaxPayload = Math.min(16 * 1024 * 1024, Math.max(config.maxPayloadBytes * 4, config.maxPayloadBytes + 4096));
  // Slow consumers: uWS either drops a publish to a full socket or, with closeOnBackpressureLimit,
  // cuts the connection without a close code. So every socket is checked after each
  // `sweepEveryBytes` published and closed with 4008 past the limit; uWS's own cut (1006) at
  // `hardBackpressure` only catches a burst that outruns the check. Never a silent drop.
  const sweepEveryBytes = Math.max(1, Math.floor(config.maxBackpressureBytes / 2));
  const hardBackpressure = config.maxBackpressureBytes * 2 + uwsMaxPayload * 2;
  let lastFullLog = 0;
  let bytesSinceSweep = 0;
  let sweepScheduled = false;

  for (const hub of hubs) {
    app.ws<SocketData>(hub.path, {
      compression: hub.compression ? uws.SHARED_COMPRESSOR : uws.DISABLED,
      maxPayloadLength: uwsMaxPayload,
      idleTimeout: config.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      maxBackpressure: hardBackpressure,
      closeOnBackpressureLimit: 1, // typed as a number by the package; read as a boolean
      upgrade(res, req, context) {
        if (state !== "running") {
          hub.counters.upgradeRefused("draining");
          res.writeStatus("503 Service Unavailable").end("draining\n");
          return;
        }
        if (sockets.size >= deps.maxConnections) {
          hub.counters.upgradeRefused("full");
          const now = Date.now();
          if (now - lastFullLog > 10_000) {
            lastFullLog = now;
            logger.error(
              { connections: sockets.size, maxConnections: deps.maxConnections },
              "connection limit reached: refusing new clients with 503",
            );
          }
          res.writeStatus("503 Service Unavailable").end("server full\n");
          return;
        }
        const origin = req.getHeader("origin");
        if (hub.allowedOrigins && !hub.allowedOrigins.has(origin)) {
          hub.counters.upgradeRefused("origin");
          hub.logger.info({ origin }, "upgrade refused: origin not allowed");
          res.writeStatus("403 Forbidden").end("origin not allowed\n");
          return;
        }
        res.upgrade<SocketData>(
          { hub },
          req.getHeader("sec-websocket-key"),
          req.getHeader("sec-websocket-protocol"),
          req.getHeader("sec-websocket-extensions"),
          context,
        );
      },
      open(ws) {
        const data = ws.getUserData();
        data.session = new Session(
          hub,
          bus,
          {
            send: (text) => writer.send(ws, text),
            subscribe: (topic) => {
              if (!data.closed) ws.subscribe(topic);
            },
            unsubscribe: (topic) => {
              if (!data.closed) ws.unsubscribe(topic);
            },
            end: (code, reason) => {
              writer.flush(ws);
              if (!data.closed) ws.end(code, reason);
            },
          },
          { maxDepth: config.maxDepth },
        );
        sockets.add(ws);
        hub.counters.connectionsOpen.inc();
        hub.counters.connectionsOpened.inc();
      },
      message(ws, message) {
        const data = ws.getUserData();
        if (message.byteLength > config.maxPayloadBytes) {
          hub.counters.limit("payload");
          ws.end(CloseCode.MessageTooBig, "message too big");
          return;
        }
        hub.counters.bytesReceived.inc(message.byteLength);
        data.inHandler = true;
        try {
          data.session?.receive(message);
        } finally {
          data.inHandler = false;
        }
      },
      close(ws, code) {
        const data = ws.getUserData();
        data.closed = true;
        data.pending = undefined;
        writer.forget(ws);
        sockets.delete(ws);
        data.session?.close();
        hub.counters.connectionsOpen.dec();
        hub.counters.closed(closeCodeLabel(code));
      },
    });
  }

  registerHttpRoutes(app, {
    hubs,
    metrics,
    isReady,
    readiness: () => (state !== "running" ? state : bus.isReady() ? "ready" : "bus not ready"),
    staticFiles: deps.staticFiles,
    serveMetrics: config.metricsPort === undefined,
    version: deps.version,
  });

  function sweepSlowConsumers(): void {
    bytesSinceSweep = 0;
    sweepScheduled = false;
    for (const ws of sockets) {
      if (ws.getBufferedAmount() > config.maxBackpressureBytes) {
        const { hub } = ws.getUserData();
        hub.counters.limit("backpressure");
        hub.logger.info({ buffered: ws.getBufferedAmount() }, "slow consumer disconnected");
        ws.end(CloseCode.SlowConsumer, "slow consumer");
      }
    }
  }

  const listen = (target: TemplatedApp, port: number) =>
    new Promise<number>((resolve, reject) => {
      target.listen(config.host, port, (token) => {
        if (!token) return reject(new Error(`cannot listen on ${config.host}:${port} (in use, or not an address of this host)`));
        listenSockets.push(token);
        resolve(uws.us_socket_local_port(token));
      });
    });

  return {
    bus,
    isReady,
    async start() {
      const port = await listen(app, config.port);
      let metricsPort: number | undefined;
      if (config.metricsPort !== undefined) {
        const metricsApp = uws.App();
        registerHttpRoutes(metricsApp, {
          hubs: [],
          metrics,
          isReady,
          readiness: () => (isReady() ? "ready" : state),
          staticFiles: undefined,
          serveMetrics: true,
          version: deps.version,
        });
        metricsPort = await listen(metricsApp, config.metricsPort);
      }
      state = "running";
      sweepTimer = setInterval(sweepSlowConsumers, slowConsumerSweepMs);
      sweepTimer.unref();
      return { port, metricsPort };
    },
    shutdown() {
      shutdownPromise ??= (async () => {
        state = "draining";
        for (const token of listenSockets) uws.us_listen_socket_close(token);
        listenSockets.length = 0;
        logger.info({ clients: sockets.size, drainTimeoutMs: config.drainTimeoutMs }, "closing clients with 1001");
        await closeSpread([...sockets], config.drainTimeoutMs);
        if (sweepTimer) clearInterval(sweepTimer);
        await bus.close();
        state = "closed";
      })();
      return shutdownPromise;
    },
  };
}

/** Closes sockets with 1001 in batches spread over `windowMs`, so they do not all reconnect at once. */
async function closeSpread(sockets: WebSocket<SocketData>[], windowMs: number): Promise<void> {
  const steps = Math.max(1, Math.min(sockets.length, Math.floor(windowMs / 20)));
  const perStep = Math.ceil(sockets.length / steps);
  for (let i = 0; i < sockets.length; i += perStep) {
    for (const ws of sockets.slice(i, i + perStep)) {
      if (!ws.getUserData().closed) ws.end(CloseCode.GoingAway, "server shutting down");
    }
    if (i + perStep < sockets.length) await new Promise((r) => setTimeout(r, windowMs / steps));
  }
}
