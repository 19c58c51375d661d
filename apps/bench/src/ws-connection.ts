import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { nowMicros } from "./clock.js";
import { allocMaskedFrame, maskInPlace } from "./frames.js";

/** What a connection tells its owner. One object per connection: no closures per message. */
export interface WsEvents {
  /** A text or binary message: bytes [start, end) of `buf`, valid only during the call. */
  message(buf: Buffer, start: number, end: number, receivedAtUs: number): void;
  /** The connection is gone: the server's close code, or 1006 when it ended without one. */
  closed(code: number): void;
}

export interface ConnectOptions {
  /** Source address to bind (spreads many sockets over 127.0.0.x so ephemeral ports last). */
  readonly localAddress?: string | undefined;
  readonly timeoutMs?: number;
  /**
   * The buffer the kernel reads into. Every connection of a thread can share one: reads
   * are handled synchronously, and anything kept past a read is copied out.
   */
  readonly readBuffer?: Buffer;
}

const acceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const headerEnd = Buffer.from("\r\n\r\n");
const defaultReadBytes = 64 * 1024;

/**
 * A minimal RFC 6455 client, built for receiving. Reads go straight into a shared buffer
 * (`onread`, no stream machinery, no allocation per read), frames are parsed in place
 * (server frames are unmasked), and the arrival time is read once per read.
 * `ws` spends several microseconds per message in its streams and event emission; a
 * fan-out benchmark receives a thousand times more than it sends, and on a small machine
 * the load side would measure itself instead of the server.
 */
export class WsConnection {
  private socket!: Socket;
  private upgraded = false;
  private head: Buffer | undefined;
  private pending: Buffer | undefined;
  private fragments: Buffer[] | undefined;
  private closeCode = 1006;
  private done = false;
  private maskSeed = randomBytes(4).readUInt32BE(0) | 1;
  private handshake: { key: string; resolve: () => void; reject: (err: Error) => void } | undefined;

  private constructor(private readonly events: WsEvents) {}

  /** Opens the TCP connection and completes the upgrade; rejects on refusal, error or timeout. */
  static connect(url: URL, options: ConnectOptions, events: WsEvents): Promise<WsConnection> {
    const connection = new WsConnection(events);
    return connection.open(url, options).then(() => connection);
  }

  private open(url: URL, options: ConnectOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      const key = randomBytes(16).toString("base64");
      const timeoutMs = options.timeoutMs ?? 10_000;
      const timer = setTimeout(() => fail(new Error(`upgrade timed out after ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error) => {
        if (!this.handshake) return;
        this.handshake = undefined;
        clearTimeout(timer);
        this.socket.destroy();
        reject(err);
      };
      this.handshake = {
        key,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: fail,
      };
      this.socket = connect({
        host: url.hostname,
        port: Number(url.port || 80),
        localAddress: options.localAddress,
        noDelay: true,
        onread: {
          buffer: options.readBuffer ?? Buffer.allocUnsafe(defaultReadBytes),
          callback: (nread: number, buf: Uint8Array) => {
            this.read(buf as Buffer, nread);
            return true;
          },
        },
      });
      this.socket.on("error", (err) => this.handshake?.reject(err));
      this.socket.on("close", () => {
        this.handshake?.reject(new Error("connection closed during upgrade"));
        this.finish();
      });
      const path = `${url.pathname || "/"}${url.search}`;
      this.socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  }

  /** True until the socket closed. */
  get isOpen(): boolean {
    return !this.done;
  }

  /** True when the kernel buffer is full: stop writing until {@link onDrain}. */
  get congested(): boolean {
    return this.socket.writableNeedDrain;
  }

  onDrain(listener: () => void): void {
    this.socket.once("drain", listener);
  }

  sendText(text: string): void {
    this.socket.write(this.frame(0x1, Buffer.from(text)));
  }

  /** Sends a frame that is already complete and masked (see `PublishEncoder`). */
  sendFrame(frame: Buffer): void {
    this.socket.write(frame);
  }

  /** A fresh masking key for the caller's next frame. */
  nextMask(): number {
    // xorshift32: the key only has to differ between frames, not resist prediction
    let x = this.maskSeed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.maskSeed = x;
    return x;
  }

  /** Batches the writes until {@link uncork} into one syscall. */
  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  /** Sends a close frame and ends the connection; the server's close (or EOF) completes it. */
  close(code = 1000): void {
    if (this.done || this.socket.writableEnded) return;
    const payload = Buffer.allocUnsafe(2);
    payload.writeUInt16BE(code, 0);
    this.socket.end(this.frame(0x8, payload));
  }

  /** Drops the TCP connection at once. */
  terminate(): void {
    this.socket?.destroy();
  }

  private frame(opcode: number, payload: Buffer): Buffer {
    const length = payload.length;
    const frame = allocMaskedFrame(opcode, length, this.nextMask());
    const header = frame.length - length - 4;
    payload.copy(frame, header + 4);
    maskInPlace(frame, header + 4, frame.length, header);
    return frame;
  }

  private read(shared: Buffer, nread: number): void {
    if (!this.upgraded) return this.readHandshake(shared, nread);
    let buf = shared;
    let n = nread;
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, shared.subarray(0, nread)]);
      n = buf.length;
      this.pending = undefined;
    }
    this.parse(buf, n);
  }

  private readHandshake(shared: Buffer, nread: number): void {
    const chunk = Buffer.from(shared.subarray(0, nread));
    const head = this.head ? Buffer.concat([this.head, chunk]) : chunk;
    const end = head.indexOf(headerEnd);
    if (end < 0) {
      this.head = head;
      return;
    }
    this.head = undefined;
    const handshake = this.handshake;
    if (!handshake) return;
    const response = head.subarray(0, end).toString("latin1");
    const status = response.slice(0, response.indexOf("\r\n"));
    if (!/^HTTP\/1\.1 101 /.test(status)) return handshake.reject(new Error(`upgrade refused: ${status}`));
    const accept = createHash("sha1")
      .update(handshake.key + acceptGuid)
      .digest("base64");
    if (!response.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)) {
      return handshake.reject(new Error("upgrade answered without the right Sec-WebSocket-Accept"));
    }
    this.handshake = undefined;
    this.upgraded = true;
    handshake.resolve();
    const rest = head.subarray(end + headerEnd.length);
    if (rest.length > 0) this.parse(rest, rest.length);
  }

  private parse(buf: Buffer, n: number): void {
    const receivedAtUs = nowMicros();
    let pos = 0;
    while (n - pos >= 2) {
      const b0 = buf.readUInt8(pos);
      const b1 = buf.readUInt8(pos + 1);
      let length = b1 & 0x7f;
      let header = 2;
      if (length === 126) {
        if (n - pos < 4) break;
        length = buf.readUInt16BE(pos + 2);
        header = 4;
      } else if (length === 127) {
        if (n - pos < 10) break;
        length = buf.readUInt32BE(pos + 2) * 2 ** 32 + buf.readUInt32BE(pos + 6);
        header = 10;
      }
      if (b1 & 0x80) header += 4; // a server must not mask; tolerate it by skipping the key
      if (n - pos < header + length) break;
      const start = pos + header;
      pos = start + length;
      if (b1 & 0x80) maskInPlace(buf, start, pos, start - 4);
      this.frameIn(b0, buf, start, pos, receivedAtUs);
      if (this.done) return;
    }
    // the read buffer is shared: keep a copy of a partial frame
    if (pos < n) this.pending = Buffer.from(buf.subarray(pos, n));
  }

  private frameIn(b0: number, buf: Buffer, start: number, end: number, receivedAtUs: number): void {
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (opcode === 0x1 || opcode === 0x2) {
      if (fin) this.events.message(buf, start, end, receivedAtUs);
      else this.fragments = [Buffer.from(buf.subarray(start, end))];
    } else if (opcode === 0x0) {
      this.fragments?.push(Buffer.from(buf.subarray(start, end)));
      if (fin && this.fragments) {
        const whole = Buffer.concat(this.fragments);
        this.fragments = undefined;
        this.events.message(whole, 0, whole.length, receivedAtUs);
      }
    } else if (opcode === 0x8) {
      this.closeCode = end - start >= 2 ? buf.readUInt16BE(start) : 1005;
      if (!this.socket.writableEnded)
        this.socket.end(this.frame(0x8, Buffer.from(buf.subarray(start, Math.min(end, start + 2)))));
    } else if (opcode === 0x9) {
      this.socket.write(this.frame(0xa, Buffer.from(buf.subarray(start, end))));
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.upgraded) this.events.closed(this.closeCode);
  }
}
