import { createConnection, createServer, type Socket } from "node:net";

/**
 * A TCP proxy in front of Redis for faults a dead process cannot show: a hang with every
 * connection open, and subscriptions that die silently.
 */
export interface FaultProxy {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /**
   * Stops forwarding in both directions, closing nothing: to the gateways Redis looks hung.
   * Bytes wait in the sockets and go on at {@link resume}, as after a SIGCONT.
   */
  stall(): void;
  resume(): void;
  /**
   * Drops every byte Redis sends to the connections that have subscribed so far, closing
   * nothing: their subscriptions die without an error. Returns how many were muted.
   */
  muteSubscribers(): number;
  close(): Promise<void>;
}

interface Pipe {
  readonly client: Socket;
  readonly upstream: Socket;
  subscribed: boolean;
  muted: boolean;
}

export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const pipes = new Set<Pipe>();
  let stalled = false;
  const server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    const pipe: Pipe = { client, upstream, subscribed: false, muted: false };
    pipes.add(pipe);
    if (stalled) {
      client.pause();
      upstream.pause();
    }
    client.on("data", (data) => {
      if (/subscribe/i.test(data.toString("latin1"))) pipe.subscribed = true;
      upstream.write(data);
    });
    upstream.on("data", (data) => {
      if (!pipe.muted) client.write(data);
    });
    const end = () => {
      pipes.delete(pipe);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on("close", end);
      socket.on("error", end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("proxy has no port");
  return {
    port: address.port,
    url: `redis://127.0.0.1:${address.port}`,
    stall() {
      stalled = true;
      for (const pipe of pipes) {
        pipe.client.pause();
        pipe.upstream.pause();
      }
    },
    resume() {
      stalled = false;
      for (const pipe of pipes) {
        pipe.client.resume();
        pipe.upstream.resume();
      }
    },
    muteSubscribers() {
      let muted = 0;
      for (const pipe of pipes) {
        if (pipe.subscribed && !pipe.muted) {
          pipe.muted = true;
          muted += 1;
        }
      }
      return muted;
    },
    async close() {
      for (const pipe of pipes) {
        pipe.client.destroy();
        pipe.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
