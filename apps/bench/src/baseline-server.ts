import type { TemplatedApp, us_listen_socket } from "uWebSockets.js";
import type { Uws } from "@rocket/gateway";
import { encodeDelivery, okReply } from "@rocket/protocol";
import { Redis } from "ioredis";

/** Where the baseline listens, and the Redis that relays its publishes (none: in-process fan-out). */
export interface BaselineOptions {
  readonly host: string;
  readonly port: number;
  readonly redisUrl?: string | undefined;
}

interface SocketData {
  readonly channels: Set<string>;
  closed: boolean;
}

/**
 * The ceiling of this stack: a bare uWebSockets.js pub/sub server that speaks Rocket's
 * frames without a single check (any path, any secret, no channel registry, no metrics).
 * It reads commands with a bare JSON.parse (the checks in the protocol's `decode` are
 * what it leaves out) and writes its frames with the protocol's encoders.
 * With a Redis URL it relays every publish the simplest way: PUBLISH per message, one
 * SUBSCRIBE per channel with local subscribers, `app.publish` on receipt.
 */
export async function startBaseline(uws: Uws, options: BaselineOptions): Promise<{ port: number; close(): void }> {
  const app: TemplatedApp = uws.App();
  const pub = options.redisUrl ? new Redis(options.redisUrl) : undefined;
  const sub = options.redisUrl ? new Redis(options.redisUrl) : undefined;
  const refs = new Map<string, number>();
  sub?.on("messageBuffer", (channel: Buffer, message: Buffer) => app.publish(channel.toString(), message));

  app.ws<SocketData>("/*", {
    compression: uws.DISABLED,
    maxPayloadLength: 16 * 1024 * 1024,
    maxBackpressure: 16 * 1024 * 1024,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) =>
      res.upgrade<SocketData>(
        { channels: new Set(), closed: false },
        req.getHeader("sec-websocket-key"),
        req.getHeader("sec-websocket-protocol"),
        req.getHeader("sec-websocket-extensions"),
        context,
      ),
    message(ws, message) {
      const data = ws.getUserData();
      const reply = () => data.closed || ws.cork(() => ws.send(okReply));
      const command = JSON.parse(Buffer.from(message).toString());
      if (command.subscribe) {
        const channel: string = command.subscribe.channel;
        ws.subscribe(channel);
        data.channels.add(channel);
        const n = (refs.get(channel) ?? 0) + 1;
        refs.set(channel, n);
        if (sub && n === 1) void sub.subscribe(channel).then(reply);
        else ws.send(okReply);
      } else if (command.publish) {
        const { event, channel, data: payload } = command.publish;
        const frame = encodeDelivery(event, channel, JSON.stringify(payload ?? null));
        if (pub) void pub.publish(channel, frame).then(reply);
        else {
          app.publish(channel, frame);
          ws.send(okReply);
        }
      } else ws.send(okReply);
    },
    close(ws) {
      const data = ws.getUserData();
      data.closed = true;
      for (const channel of data.channels) {
        const n = (refs.get(channel) ?? 1) - 1;
        if (n > 0) refs.set(channel, n);
        else if (refs.delete(channel)) void sub?.unsubscribe(channel);
      }
    },
  });

  const token = await new Promise<us_listen_socket>((resolve, reject) =>
    app.listen(options.host, options.port, (t) => (t ? resolve(t) : reject(new Error(`cannot listen on ${options.port}`)))),
  );
  return {
    port: uws.us_socket_local_port(token),
    close() {
      uws.us_listen_socket_close(token);
      pub?.disconnect();
      sub?.disconnect();
    },
  };
}
