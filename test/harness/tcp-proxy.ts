import { createConnection, createServer, type Socket } from "node:net";

/**
 * A TCP relay to a port on 127.0.0.1 that a test can break at will: a stand-in for the
 * network, a load balancer in front of nodes, or a middlebox in front of Redis.
 */
export interface TcpProxy {
  readonly port: number;
  /** Connections relayed so far (refused ones not counted). */
  accepted(): number;
  /** Sends new connections to `port` from now on. */
  retarget(port: number): void;
  /** Destroys every open connection at once, as a network failure would. */
  dropAll(): void;
  /** While on, new connections are closed at once (the target cannot be reached). */
  refuse(on: boolean): void;
  /**
   * Stops passing the target's bytes to every connection whose client has sent a Redis
   * SUBSCRIBE-family command so far, without closing anything: its subscriptions die
   * silently, as behind a broken middlebox. Returns how many connections it muted;
   * connections opened later pass normally.
   */
  muteSubscribers(): number;
  /**
   * While on, no byte passes either way on any connection, open or opened meanwhile, and
   * nothing is closed, not even when one side closes: a silent partition, or a hung server.
   * What is sent meanwhile is held and passed on in order when it ends (as TCP would
   * retransmit it), closes last.
   */
  blackhole(on: boolean): void;
  /** Bytes held by the blackhole right now, both directions together. */
  held(): number;
  close(): Promise<void>;
}

/** One direction of one relayed connection. */
interface Direction {
  readonly from: Socket;
  readonly to: Socket;
  readonly queue: Buffer[];
  /** `from` closed while the blackhole held this direction: close `to` once it is flushed. */
  ended: boolean;
}

interface Pipe {
  readonly up: Direction;
  readonly down: Direction;
  subscribed: boolean;
  muted: boolean;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pipes = new Set<Pipe>();
  let target = targetPort;
  let accepted = 0;
  let refusing = false;
  let blackholed = false;
  let heldBytes = 0;

  const destroy = (pipe: Pipe) => {
    pipes.delete(pipe);
    pipe.up.from.destroy();
    pipe.up.to.destroy();
  };
  const pass = (pipe: Pipe, direction: Direction, data: Buffer) => {
    if (direction === pipe.down && pipe.muted) return;
    if (blackholed) {
      direction.queue.push(data);
      heldBytes += data.length;
    } else direction.to.write(data);
  };
  const flush = (pipe: Pipe) => {
    for (const direction of [pipe.up, pipe.down]) {
      for (const data of direction.queue.splice(0)) {
        heldBytes -= data.length;
        if (!(direction === pipe.down && pipe.muted)) direction.to.write(data);
      }
    }
    if (pipe.up.ended || pipe.down.ended) {
      pipe.up.to.end();
      pipe.down.to.end();
      pipes.delete(pipe);
    }
  };

  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    accepted++;
    const upstream = createConnection({ host: "127.0.0.1", port: target });
    const pipe: Pipe = {
      up: { from: client, to: upstream, queue: [], ended: false },
      down: { from: upstream, to: client, queue: [], ended: false },
      subscribed: false,
      muted: false,
    };
    pipes.add(pipe);
    client.on("data", (data: Buffer) => {
      if (/subscribe/i.test(data.toString("latin1"))) pipe.subscribed = true;
      pass(pipe, pipe.up, data);
    });
    upstream.on("data", (data: Buffer) => pass(pipe, pipe.down, data));
    for (const direction of [pipe.up, pipe.down]) {
      const end = () => {
        if (!pipes.has(pipe)) return;
        if (!blackholed) return destroy(pipe);
        // Behind a partition the other side learns nothing until it heals.
        direction.ended = true;
      };
      direction.from.on("close", end);
      direction.from.on("error", end);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("proxy has no port");

  return {
    port: address.port,
    accepted: () => accepted,
    retarget(port) {
      target = port;
    },
    dropAll() {
      for (const pipe of pipes) destroy(pipe);
    },
    refuse(on) {
      refusing = on;
    },
    muteSubscribers() {
      let muted = 0;
      for (const pipe of pipes) {
        if (pipe.subscribed && !pipe.muted) {
          pipe.muted = true;
          muted++;
        }
      }
      return muted;
    },
    blackhole(on) {
      blackholed = on;
      if (!on) for (const pipe of [...pipes]) flush(pipe);
    },
    held: () => heldBytes,
    async close() {
      for (const pipe of pipes) destroy(pipe);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
