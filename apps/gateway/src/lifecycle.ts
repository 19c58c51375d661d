import type { TemplatedApp, us_listen_socket, WebSocket } from "uWebSockets.js";
import { CloseCode } from "@rocket/protocol";
import type { Logger } from "pino";
import type { Uws } from "./uws-native.js";

/** A gateway's life: `created` until it listens, `running`, `draining` on shutdown, then `closed`. */
export type GatewayState = "created" | "running" | "draining" | "closed";

export interface LifecycleDeps {
  readonly uws: Pick<Uws, "us_listen_socket_close" | "us_socket_local_port">;
  readonly logger: Logger;
  readonly host: string;
  readonly drainTimeoutMs: number;
  /** Every open connection (kept by the socket handlers). */
  readonly connections: ReadonlySet<WebSocket<unknown>>;
  /** Whether the bus can acknowledge publishes truthfully. */
  readonly busReady: () => boolean;
  /** Runs once listening. */
  readonly onRunning: () => void;
  /** Runs once every client is closed (closes the bus). */
  readonly afterDrain: () => Promise<void>;
}

/** uWS's `ListenOptions.LIBUS_LISTEN_EXCLUSIVE_PORT` (a declared enum: no value to import at run time). */
const exclusivePort = 1;

/** uWS's native `listen` with a host and options. */
type ListenWithOptions = (
  host: string,
  port: number,
  options: number,
  callback: (token: us_listen_socket | false) => void,
) => unknown;

/** An app and the port it listens on (0 picks a free one). */
export interface Listener {
  readonly app: TemplatedApp;
  readonly port: number;
  /**
   * Stops listening when the drain starts (the clients' port). A listener without it (the
   * metrics port) stays open until the drain ends, so probes and scrapes watch the drain.
   */
  readonly closeOnDrain: boolean;
}

export interface Lifecycle {
  readonly state: GatewayState;
  /** Whether /readyz answers 200: running, and the bus ready. */
  isReady(): boolean;
  /** One word or phrase for the /readyz body. */
  readiness(): string;
  /** Listens on every listener in order; resolves with the ports actually bound. */
  start(listeners: readonly Listener[]): Promise<number[]>;
  /** Drains: not ready, stop accepting, close clients with 1001 over the drain window, then `afterDrain`. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * The gateway's lifecycle, an idempotent state machine `running → draining → closed`:
 * /readyz fails first, upgrades get 503, the clients' port stops listening (the metrics port
 * only once the drain is over), clients are closed with "going
 * away" spread over the drain window (so they do not all reconnect at once), then the bus
 * closes; a second shutdown returns the same promise.
 */
export function createLifecycle(deps: LifecycleDeps): Lifecycle {
  const { uws, logger, connections } = deps;
  const listenSockets: { token: us_listen_socket; closeOnDrain: boolean }[] = [];
  let state: GatewayState = "created";
  let shutdownPromise: Promise<void> | undefined;

  /**
   * Listens with SO_REUSEADDR alone (`LIBUS_LISTEN_EXCLUSIVE_PORT`): a gateway restarted on
   * its port at once binds although the old process's connections linger in TIME_WAIT, while
   * a second live gateway on the same port is refused. uWS's default adds SO_REUSEPORT, with
   * which the kernel would share the port between two live gateways without a word. The
   * native `listen` takes (host, port, options, callback); its typings list options only
   * without a host.
   */
  const listen = ({ app, port, closeOnDrain }: Listener) =>
    new Promise<number>((resolve, reject) => {
      (app.listen as unknown as ListenWithOptions).call(app, deps.host, port, exclusivePort, (token) => {
        if (!token) return reject(new Error(`cannot listen on ${deps.host}:${port} (in use, or not an address of this host)`));
        listenSockets.push({ token, closeOnDrain });
        resolve(uws.us_socket_local_port(token));
      });
    });

  /** Closes sockets with 1001 in batches spread over the drain window. */
  const closeSpread = async (): Promise<void> => {
    const sockets = [...connections];
    const windowMs = deps.drainTimeoutMs;
    const steps = Math.max(1, Math.min(sockets.length, Math.floor(windowMs / 20)));
    const perStep = Math.ceil(sockets.length / steps);
    for (let i = 0; i < sockets.length; i += perStep) {
      for (const ws of sockets.slice(i, i + perStep)) {
        if (connections.has(ws)) ws.end(CloseCode.GoingAway, "server shutting down");
      }
      if (i + perStep < sockets.length) await new Promise((r) => setTimeout(r, windowMs / steps));
    }
  };

  /** Closes the listening sockets that close at the drain's start (`first`), or all that are left. */
  const stopListening = (first: boolean): void => {
    for (const listener of [...listenSockets]) {
      if (first && !listener.closeOnDrain) continue;
      uws.us_listen_socket_close(listener.token);
      listenSockets.splice(listenSockets.indexOf(listener), 1);
    }
  };

  const isReady = () => state === "running" && deps.busReady();
  return {
    get state() {
      return state;
    },
    isReady,
    readiness: () => (state !== "running" ? state : deps.busReady() ? "ready" : "bus not ready"),
    async start(listeners) {
      const ports: number[] = [];
      for (const listener of listeners) ports.push(await listen(listener));
      state = "running";
      deps.onRunning();
      return ports;
    },
    shutdown() {
      shutdownPromise ??= (async () => {
        state = "draining";
        stopListening(true);
        logger.info({ clients: connections.size, drainTimeoutMs: deps.drainTimeoutMs }, "closing clients with 1001");
        await closeSpread();
        await deps.afterDrain();
        stopListening(false);
        state = "closed";
      })();
      return shutdownPromise;
    },
  };
}
