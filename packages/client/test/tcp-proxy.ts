import { createServer, type Socket, connect as tcpConnect } from "node:net";

/**
 * A TCP relay to a port on 127.0.0.1 whose connections a test can cut at will: a stand-in
 * for the network, or for a load balancer in front of nodes.
 */
export interface TcpProxy {
  readonly port: number;
  /** Sends new connections to `port` from now on. */
  retarget(port: number): void;
  /** Connections relayed so far. */
  readonly accepted: () => number;
  /** Destroys every open connection at once, as a network failure would. */
  dropAll(): void;
  close(): Promise<void>;
}

export function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let accepted = 0;
  let target = targetPort;
  const server = createServer((client) => {
    accepted++;
    const upstream = tcpConnect(target, "127.0.0.1");
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (typeof address !== "object" || address === null) return reject(new Error("proxy has no address"));
      resolve({
        port: address.port,
        retarget: (port) => {
          target = port;
        },
        accepted: () => accepted,
        dropAll: () => {
          for (const socket of open) socket.destroy();
        },
        close: () =>
          new Promise<void>((done) => {
            for (const socket of open) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
