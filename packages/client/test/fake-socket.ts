import type { SocketLike, WebSocketConstructor } from "../src/transport.js";

/** One client socket of a {@link FakeServer}: the test plays the server's side. */
export class FakeSocket implements SocketLike {
  readyState = 0;
  readonly sent: string[] = [];
  /** What the client passed to close(), if it called it. */
  closedWith: { code: number | undefined; reason: string | undefined } | undefined;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error(`send in readyState ${this.readyState}`);
    this.sent.push(data);
  }

  /** Like a browser: the close event follows asynchronously. */
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    if (this.readyState >= 2) return;
    this.readyState = 2;
    queueMicrotask(() => this.drop(code ?? 1005, reason ?? ""));
  }

  /** The handshake completes. */
  accept(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** The server sends a frame. */
  push(frame: object | string): void {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }

  ok(count = 1): void {
    for (let i = 0; i < count; i++) this.push({ ok: true });
  }

  err(code: string): void {
    this.push({ err: code });
  }

  deliver(channel: string, event: string, data: unknown): void {
    this.push({ event, channel, data });
  }

  /** The connection ends (1006: it just dropped). */
  drop(code = 1006, reason = ""): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** Frames the client sent, parsed. */
  get frames(): unknown[] {
    return this.sent.map((f) => JSON.parse(f));
  }
}

/** Records every socket the client opens; `WebSocket` is what the client is given. */
export class FakeServer {
  readonly sockets: FakeSocket[] = [];
  readonly WebSocket: WebSocketConstructor;

  constructor() {
    const sockets = this.sockets;
    this.WebSocket = class extends FakeSocket {
      constructor(url: string) {
        super(url);
        sockets.push(this);
      }
    };
  }

  /** The socket opened last. */
  get last(): FakeSocket {
    const socket = this.sockets.at(-1);
    if (socket === undefined) throw new Error("no socket opened yet");
    return socket;
  }
}
