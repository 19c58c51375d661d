import { createConnection, createServer, type Server, type Socket } from "node:net";

/** A TCP proxy in front of Redis that can make subscriptions die silently. */
export interface TcpProxy {
  readonly port: number;
  /**
   * Stops passing Redis's bytes to every connection that has subscribed so far, without
   * closing anything: the subscription dies silently, as behind a broken middlebox.
   * Connections opened later pass normally.
   */
  muteSubscribers(): number;
  /** While on, new connections are closed at once (the node cannot reach Redis). */
  refuse(on: boolean): void;
  close(): Promise<void>;
}

interface Pipe {
  readonly client: Socket;
  readonly upstream: Socket;
  subscribed: boolean;
  muted: boolean;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pipes = new Set<Pipe>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    const pipe: Pipe = { client, upstream, subscribed: false, muted: false };
    pipes.add(pipe);
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
    refuse(on) {
      refusing = on;
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
