import { connect, type Socket } from "node:net";

export interface RawResponse {
  readonly status: number;
  readonly head: string;
  readonly body: string;
}

/**
 * One HTTP/1.1 connection opened ahead of time and kept: it can still ask a gateway things
 * after the gateway stopped listening (a drain closes the listening socket, not this one).
 */
export class RawHttp {
  private buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (data) => {
      this.buffer = Buffer.concat([this.buffer, data]);
      this.waiter?.();
    });
    socket.on("close", () => this.waiter?.());
  }

  static connect(port: number): Promise<RawHttp> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port }, () => resolve(new RawHttp(socket)));
      socket.once("error", reject);
    });
  }

  /** `GET path` on this connection; resolves with the whole response (Content-Length framed). */
  get(path: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<RawResponse> {
    const lines = [`GET ${path} HTTP/1.1`, "Host: rocket", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    this.socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response to GET ${path}: ${this.buffer.toString()}`)), timeoutMs);
      const check = () => {
        const end = this.buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = this.buffer.subarray(0, end).toString("latin1");
        const length = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0);
        if (this.buffer.length < end + 4 + length) return;
        const body = this.buffer.subarray(end + 4, end + 4 + length).toString();
        this.buffer = this.buffer.subarray(end + 4 + length);
        this.waiter = undefined;
        clearTimeout(timer);
        resolve({ status: Number(head.split(" ")[1]), head, body });
      };
      this.waiter = check;
      check();
    });
  }

  /** A WebSocket upgrade request for `path`. */
  upgrade(path: string): Promise<RawResponse> {
    return this.get(path, {
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version": "13",
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
