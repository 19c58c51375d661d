import type { WebSocket, WebSocketBehavior } from "uWebSockets.js";
import { CloseCode, closeCodeLabel, LimitLabel } from "@rocket/protocol";
import type { Logger } from "pino";
import type { Hub } from "./hub.js";
import { Outbox, type OutboxShared } from "./outbox.js";
import { Session } from "./session.js";
import type { SessionContext } from "./session-context.js";
import { TokenBucket } from "./token-bucket.js";
import type { Uws } from "./uws-native.js";
import { WriteBatch } from "./write-batch.js";

/** What uWS keeps per connection. */
export interface SocketData {
  readonly hub: Hub;
  session: Session | undefined;
}

export interface SocketHandlerDeps {
  readonly uws: Pick<Uws, "SHARED_COMPRESSOR" | "DISABLED">;
  readonly logger: Logger;
  /** Every open connection: added on open, removed on close (read by fan-out and the drain). */
  readonly connections: Set<WebSocket<SocketData>>;
  /** Whether new connections are taken (not while draining). */
  readonly accepting: () => boolean;
  /** Most connections held at once; more get 503. */
  readonly maxConnections: number;
  /** New connections accepted per second on this node (bursts of one second's worth); more get 503. 0: no cap. */
  readonly maxConnectionsPerSecond: number;
  readonly maxPayloadBytes: number;
  readonly maxBackpressureBytes: number;
  readonly idleTimeoutSeconds: number;
}

/** How often "connection limit reached" may be logged. */
const fullLogEveryMs = 10_000;

/**
 * The uWS handlers of every hub's WebSocket path: the upgrade (refused while draining, when
 * full, or from an origin not allowed), then one session and one outbox per connection; a
 * message enters the session inside the outbox's handler bracket; a close releases both.
 */
export function createSocketHandlers(deps: SocketHandlerDeps) {
  const { connections, logger, maxConnections, maxPayloadBytes } = deps;
  const batch = new WriteBatch();
  // uWS closes frames over its own limit without a close code; give it headroom and send 1009 ourselves.
  const uwsMaxPayload = Math.min(16 * 1024 * 1024, Math.max(maxPayloadBytes * 4, maxPayloadBytes + 4096));
  // uWS's own cut for a burst that outruns the slow-consumer check (see fan-out.ts).
  const hardBackpressure = deps.maxBackpressureBytes * 2 + uwsMaxPayload * 2;
  let lastFullLog = 0;
  let lastRateLog = 0;
  // One bucket for the node: it keeps a node alive when another dies and all its clients come at once.
  const perSecond = deps.maxConnectionsPerSecond;
  const upgrades = perSecond > 0 ? new TokenBucket(perSecond, perSecond, performance.now()) : undefined;

  const refuseOverRate = (hub: Hub): boolean => {
    if (upgrades === undefined || upgrades.take(performance.now())) return false;
    hub.counters.upgradeRefused("rate");
    const now = Date.now();
    if (now - lastRateLog > fullLogEveryMs) {
      lastRateLog = now;
      logger.warn({ maxConnectionsPerSecond: perSecond }, "connection rate limit reached: refusing new clients with 503");
    }
    return true;
  };

  const refuseWhenFull = (hub: Hub): boolean => {
    if (connections.size < maxConnections) return false;
    hub.counters.upgradeRefused("full");
    const now = Date.now();
    if (now - lastFullLog > fullLogEveryMs) {
      lastFullLog = now;
      logger.error({ connections: connections.size, maxConnections }, "connection limit reached: refusing new clients with 503");
    }
    return true;
  };

  /** The behaviour of one hub's path. */
  return (context: SessionContext): WebSocketBehavior<SocketData> => {
    const { hub } = context;
    const shared: OutboxShared = { counters: hub.counters, batch };
    return {
      compression: hub.compression ? deps.uws.SHARED_COMPRESSOR : deps.uws.DISABLED,
      maxPayloadLength: uwsMaxPayload,
      idleTimeout: deps.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      maxBackpressure: hardBackpressure,
      closeOnBackpressureLimit: 1, // typed as a number by the package; read as a boolean
      upgrade(res, req, upgradeContext) {
        if (!deps.accepting()) {
          hub.counters.upgradeRefused("draining");
          res.writeStatus("503 Service Unavailable").end("draining\n");
          return;
        }
        if (refuseWhenFull(hub)) {
          res.writeStatus("503 Service Unavailable").end("server full\n");
          return;
        }
        if (refuseOverRate(hub)) {
          res.cork(() => {
            res.writeStatus("503 Service Unavailable").writeHeader("retry-after", "1").end("too many new connections\n");
          });
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
          { hub, session: undefined },
          req.getHeader("sec-websocket-key"),
          req.getHeader("sec-websocket-protocol"),
          req.getHeader("sec-websocket-extensions"),
          upgradeContext,
        );
      },
      open(ws) {
        ws.getUserData().session = new Session(context, new Outbox(ws, shared));
        connections.add(ws);
        hub.counters.connectionsOpen.inc();
        hub.counters.connectionsOpened.inc();
      },
      message(ws, message) {
        if (message.byteLength > maxPayloadBytes) {
          hub.counters.limit(LimitLabel.Payload);
          ws.end(CloseCode.MessageTooBig, "message too big");
          return;
        }
        hub.counters.bytesReceived.inc(message.byteLength);
        const { session } = ws.getUserData();
        if (session === undefined) return;
        session.outbox.enterHandler();
        try {
          session.receive(message);
        } finally {
          session.outbox.exitHandler();
        }
      },
      close(ws, code) {
        connections.delete(ws);
        const { session } = ws.getUserData();
        session?.outbox.close();
        session?.close();
        hub.counters.connectionsOpen.dec();
        hub.counters.closed(closeCodeLabel(code));
      },
    };
  };
}
