import type { TemplatedApp, WebSocket } from "uWebSockets.js";
import { type DeliverFn, nowMs } from "@rocket/bus";
import { CloseCode, LimitLabel } from "@rocket/protocol";
import type { Hub } from "./hub.js";
import type { PendingJoins } from "./pending-joins.js";
import type { Recovery } from "./recovery.js";

/** Clients are also checked for a send queue over MaxBackpressureBytes this often (replies queue too). */
const slowConsumerSweepMs = 1000;

export interface FanOutDeps {
  readonly app: TemplatedApp;
  readonly hubs: readonly Hub[];
  /** Every open connection (kept by the socket handlers). */
  readonly connections: ReadonlySet<WebSocket<{ readonly hub: Hub }>>;
  /** Connections catching up on a topic with history get its messages through their outbox. */
  readonly recovery: Pick<Recovery, "deliver">;
  /** Connections whose join of a topic waits for their subscribe's ok get its messages through their outbox. */
  readonly joins: Pick<PendingJoins, "size" | "deliver">;
  readonly maxBackpressureBytes: number;
  /** Where the publish-to-delivery latency goes, in seconds. */
  readonly deliverLatency: { observe(seconds: number): void };
  /** Messages on topics of no hub (the nodes' questions to each other, survey.ts). */
  readonly other?: ((topic: string, frame: Uint8Array) => void) | undefined;
}

/**
 * Delivery to this node's sockets, and the slow consumers that falls behind.
 *
 * `deliver` is the one way in from the bus: the bytes go to uWS's C++ fan-out untouched.
 * Slow consumers: uWS either drops a publish to a full socket or, with
 * closeOnBackpressureLimit, cuts the connection without a close code. So every socket is
 * checked after each `sweepEveryBytes` published (and once a second) and closed with 4008
 * past MaxBackpressureBytes; uWS's own cut (1006, see socket-handlers.ts) only catches a
 * burst that outruns the check. Never a silent drop.
 */
export interface FanOut {
  readonly deliver: DeliverFn;
  /** Starts the periodic check (replies queue up too, without any publish). */
  start(): void;
  stop(): void;
}

export function createFanOut(deps: FanOutDeps): FanOut {
  const { app, hubs, connections, maxBackpressureBytes, deliverLatency } = deps;
  // No queue can have grown by more than the bytes published since the last check.
  const sweepEveryBytes = Math.max(1, Math.floor(maxBackpressureBytes / 2));
  let bytesSinceSweep = 0;
  let sweepScheduled = false;
  let timer: NodeJS.Timeout | undefined;

  const sweep = (): void => {
    bytesSinceSweep = 0;
    sweepScheduled = false;
    for (const ws of connections) {
      const buffered = ws.getBufferedAmount();
      if (buffered <= maxBackpressureBytes) continue;
      const { hub } = ws.getUserData();
      hub.counters.limit(LimitLabel.Backpressure);
      hub.logger.info({ buffered }, "slow consumer disconnected");
      ws.end(CloseCode.SlowConsumer, "slow consumer");
    }
  };

  const hubOfTopic = (topic: string): Hub | undefined => {
    for (const hub of hubs) if (topic.startsWith(hub.topicPrefix)) return hub;
    return undefined;
  };

  const deliver: DeliverFn = (topic, frame, publishedAtMs, position) => {
    const hub = hubOfTopic(topic);
    if (hub === undefined) {
      deps.other?.(topic, frame);
      return;
    }
    const receivers = app.numSubscribers(topic);
    if (receivers > 0) {
      app.publish(topic, frame, false, hub.compression);
      bytesSinceSweep += frame.byteLength;
      if (bytesSinceSweep >= sweepEveryBytes && !sweepScheduled) {
        sweepScheduled = true;
        setImmediate(sweep);
      }
      hub.counters.messagesDelivered.inc(receivers);
      hub.counters.bytesSent.inc(receivers * frame.byteLength);
      deliverLatency.observe(Math.max(0, nowMs() - publishedAtMs) / 1000);
    }
    // After uWS's fan-out: a catch-up or a waiting join that ends here joins the topic for the
    // next message, not this one.
    if (deps.joins.size > 0) deps.joins.deliver(topic, frame);
    if (position !== undefined) deps.recovery.deliver(topic, frame, position);
  };

  return {
    deliver,
    start() {
      timer ??= setInterval(sweep, slowConsumerSweepMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
