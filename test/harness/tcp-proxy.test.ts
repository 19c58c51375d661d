import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { until } from "./ports.js";
import { Resources } from "./process.js";
import { startTcpProxy } from "./tcp-proxy.js";

/** A server behind the proxy whose side of each connection the test drives by hand. */
interface Upstream {
  readonly port: number;
  readonly sockets: Socket[];
  /** Everything received, all connections together. */
  received(): string;
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const sockets: Socket[] = [];
  let received = "";
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on("data", (data: Buffer) => {
      received += data.toString();
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return {
    port: address.port,
    sockets,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A client connection to the proxy that keeps what it receives and whether it closed. */
function client(port: number) {
  const socket = connect(port, "127.0.0.1");
  const state = {
    socket,
    received: "",
    closed: false,
    close: () => {
      socket.destroy();
    },
  };
  socket.on("data", (data: Buffer) => {
    state.received += data.toString();
  });
  socket.on("close", () => {
    state.closed = true;
  });
  socket.on("error", () => {});
  return state;
}

const resources = new Resources();
afterEach(() => resources.close());

describe("TCP proxy", () => {
  it("relays both ways and counts connections; dropAll cuts them", async () => {
    const upstream = resources.add(await startUpstream(), (u) => u.close());
    const proxy = resources.add(await startTcpProxy(upstream.port), (p) => p.close());
    const c = resources.add(client(proxy.port), (x) => x.close());
    c.socket.write("hello");
    await until(() => upstream.received() === "hello", 5000, "bytes upstream");
    upstream.sockets[0]?.write("world");
    await until(() => c.received === "world", 5000, "bytes back");
    expect(proxy.accepted()).toBe(1);
    proxy.dropAll();
    await until(() => c.closed, 5000, "the cut");
  });

  it("refuses new connections while told to, and sends new ones to a new target", async () => {
    const first = resources.add(await startUpstream(), (u) => u.close());
    const second = resources.add(await startUpstream(), (u) => u.close());
    const proxy = resources.add(await startTcpProxy(first.port), (p) => p.close());
    proxy.refuse(true);
    const refused = resources.add(client(proxy.port), (x) => x.close());
    await until(() => refused.closed, 5000, "the refusal");
    proxy.refuse(false);
    proxy.retarget(second.port);
    const c = resources.add(client(proxy.port), (x) => x.close());
    c.socket.write("to second");
    await until(() => second.received() === "to second", 5000, "bytes at the new target");
    expect(first.received()).toBe("");
    expect(proxy.accepted()).toBe(1);
  });

  it("mutes the replies to connections that subscribed, and only those", async () => {
    const upstream = resources.add(await startUpstream(), (u) => u.close());
    const proxy = resources.add(await startTcpProxy(upstream.port), (p) => p.close());
    const subscriber = resources.add(client(proxy.port), (x) => x.close());
    subscriber.socket.write("SUBSCRIBE news\r\n");
    await until(() => upstream.sockets.length === 1 && upstream.received().includes("SUBSCRIBE"), 5000, "the subscribe");
    const other = resources.add(client(proxy.port), (x) => x.close());
    other.socket.write("PING\r\n");
    await until(() => upstream.sockets.length === 2 && upstream.received().includes("PING"), 5000, "the ping");
    expect(proxy.muteSubscribers()).toBe(1);
    upstream.sockets[0]?.write("lost");
    upstream.sockets[1]?.write("+PONG");
    await until(() => other.received === "+PONG", 5000, "the other connection's reply");
    // The muted connection stays open and can still send; what the server sent it is gone.
    subscriber.socket.write("still open");
    await until(() => upstream.received().endsWith("still open"), 5000, "the muted connection still sending");
    expect(subscriber.received).toBe("");
    expect(subscriber.closed).toBe(false);
  });

  it("blackholes both ways without closing anything, then passes what it held, in order", async () => {
    const upstream = resources.add(await startUpstream(), (u) => u.close());
    const proxy = resources.add(await startTcpProxy(upstream.port), (p) => p.close());
    const c = resources.add(client(proxy.port), (x) => x.close());
    c.socket.write("a");
    await until(() => upstream.received() === "a", 5000, "the first byte");

    proxy.blackhole(true);
    c.socket.write("bc");
    upstream.sockets[0]?.write("xyz");
    await until(() => proxy.held() === 5, 5000, "five bytes held");
    // A connection opened during the partition is accepted but hears nothing either.
    const late = resources.add(client(proxy.port), (x) => x.close());
    late.socket.write("late");
    await until(() => proxy.held() === 9, 5000, "the late connection's bytes held");
    expect(upstream.received()).toBe("a");
    expect(c.received).toBe("");
    expect(late.received).toBe("");
    expect(c.closed || late.closed).toBe(false);

    proxy.blackhole(false);
    await until(() => upstream.received().length === 7, 5000, "the held bytes upstream");
    expect(["abclate", "alatebc"]).toContain(upstream.received());
    await until(() => c.received === "xyz", 5000, "the held bytes back");
    expect(proxy.held()).toBe(0);
    expect(c.closed).toBe(false);
  });

  it("holds a close during a blackhole until it ends, after the bytes before it", async () => {
    const upstream = resources.add(await startUpstream(), (u) => u.close());
    const proxy = resources.add(await startTcpProxy(upstream.port), (p) => p.close());
    const c = resources.add(client(proxy.port), (x) => x.close());
    await until(() => upstream.sockets.length === 1, 5000, "the connection upstream");

    proxy.blackhole(true);
    upstream.sockets[0]?.end("bye");
    await until(() => proxy.held() === 3, 5000, "the last bytes held");
    // The client hears nothing, not even the close, while the partition lasts.
    c.socket.write("anyone?");
    await until(() => proxy.held() === 10, 5000, "the client's bytes held");
    expect(c.closed).toBe(false);

    proxy.blackhole(false);
    await until(() => c.closed, 5000, "the close passed on");
    expect(c.received).toBe("bye");
  });
});
