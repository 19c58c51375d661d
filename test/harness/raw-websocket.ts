import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

/**
 * A WebSocket client written straight onto TCP (RFC 6455), so that a test can send what no
 * WebSocket library would: unmasked or oddly sized frames, reserved bits and opcodes,
 * control frames between fragments, invalid UTF-8, lies about lengths.
 */

/** RFC 6455 §5.2 opcodes. */
export const Opcode = { Continuation: 0x0, Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa } as const;

/** One frame as the test wants it on the wire; every field has the well-formed default. */
export interface FrameSpec {
  readonly opcode: number;
  readonly payload?: Uint8Array | string;
  /** Default true. */
  readonly fin?: boolean;
  /** RSV1, RSV2, RSV3 as the bits 4, 2, 1 of this number. Default 0. */
  readonly rsv?: number;
  /** The masking key; default a random one; `false` sends the frame unmasked. */
  readonly mask?: Uint8Array | false;
  /** Encode the length in this form even when a shorter one would do. Default: the shortest. */
  readonly lengthForm?: 7 | 16 | 64;
  /** The length written in the header when it should differ from the payload's (a lie). */
  readonly declaredLength?: bigint;
}

/** Builds the bytes of one client frame. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === "string" ? Buffer.from(spec.payload) : Buffer.from(spec.payload ?? []);
  const length = spec.declaredLength ?? BigInt(payload.length);
  const form = spec.lengthForm ?? (length < 126n ? 7 : length <= 0xffffn ? 16 : 64);
  const mask = spec.mask === false ? undefined : (spec.mask ?? randomBytes(4));
  const extra = form === 7 ? 0 : form === 16 ? 2 : 8;
  const header = Buffer.alloc(2 + extra + (mask ? 4 : 0));
  header[0] = ((spec.fin ?? true) ? 0x80 : 0) | (((spec.rsv ?? 0) & 7) << 4) | (spec.opcode & 0xf);
  const maskBit = mask ? 0x80 : 0;
  if (form === 7) header[1] = maskBit | Number(length & 0x7fn);
  else if (form === 16) {
    header[1] = maskBit | 126;
    header.writeUInt16BE(Number(length & 0xffffn), 2);
  } else {
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(length & 0xffff_ffff_ffff_ffffn, 2);
  }
  if (!mask) return Buffer.concat([header, payload]);
  header.set(mask, 2 + extra);
  const masked = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = (payload[i] ?? 0) ^ (mask[i & 3] ?? 0);
  return Buffer.concat([header, masked]);
}

/** A close frame's payload: the status code (big-endian) and a UTF-8 reason. */
export function closePayload(code: number, reason: string | Uint8Array = ""): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code);
  return Buffer.concat([head, typeof reason === "string" ? Buffer.from(reason) : reason]);
}

/** A frame the server sent. */
export interface ServerFrame {
  readonly fin: boolean;
  readonly rsv: number;
  readonly opcode: number;
  readonly masked: boolean;
  readonly payload: Buffer;
}

/**
 * How the connection ended: with a close frame from the server (its status code, if the
 * frame carried one) or cut (TCP closed without a close frame: 1006 to a client).
 */
export type Ending =
  | { readonly kind: "close"; readonly code: number | undefined; readonly reason: string }
  | { readonly kind: "cut" };

export interface RawConnectOptions {
  readonly path?: string;
  /** Extra request headers (e.g. `Sec-WebSocket-Extensions`). */
  readonly headers?: Record<string, string>;
  /** Answer a server close frame with a close frame and end the TCP stream (default true). */
  readonly echoClose?: boolean;
  /** Milliseconds to wait for the upgrade's answer. Default 10,000. */
  readonly timeoutMs?: number;
}

const guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** One raw connection: frames written by hand, server frames parsed and kept in order. */
export class RawWebSocket {
  /** Every frame received, in order. */
  readonly frames: ServerFrame[] = [];
  /** Response headers of the upgrade, lower-cased names. */
  readonly headers: ReadonlyMap<string, string>;
  /** Resolves once the TCP connection is closed, with how it ended. */
  readonly ended: Promise<Ending>;
  private read = 0;
  private pending: Buffer = Buffer.alloc(0);
  private closeFrame: ServerFrame | undefined;
  private isEnded = false;
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<(frame: ServerFrame) => void>();
  /** Set when the server broke the protocol in what it sent (masked frame, bytes after close). */
  private violation: string | undefined;

  private constructor(
    readonly socket: Socket,
    headers: Map<string, string>,
    rest: Buffer,
    private readonly echoClose: boolean,
  ) {
    this.headers = headers;
    this.ended = new Promise((resolve) => {
      socket.on("close", () => {
        this.isEnded = true;
        const close = this.closeFrame;
        resolve(close ? { kind: "close", ...parseClose(close.payload) } : { kind: "cut" });
        this.wake();
      });
    });
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    // Resets and the like end the connection; `ended` tells the test how.
    socket.on("error", () => {});
    if (rest.length > 0) this.receive(rest);
  }

  /** Opens a TCP connection to 127.0.0.1:`port` and performs the upgrade handshake. */
  static connect(port: number, options: RawConnectOptions = {}): Promise<RawWebSocket> {
    const key = randomBytes(16).toString("base64");
    const expectedAccept = createHash("sha1")
      .update(key + guid)
      .digest("base64");
    const lines = [
      `GET ${options.path ?? "/"} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
      ...Object.entries(options.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    ];
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      socket.setNoDelay(true);
      let head = Buffer.alloc(0);
      const timer = setTimeout(() => fail(new Error("no upgrade answer in time")), options.timeoutMs ?? 10_000);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        clearTimeout(timer);
        socket.off("data", onData);
        socket.off("error", fail);
        socket.off("close", onClose);
        const [status = "", ...fields] = head.subarray(0, end).toString("latin1").split("\r\n");
        const headers = new Map<string, string>();
        for (const field of fields) {
          const colon = field.indexOf(":");
          if (colon > 0) headers.set(field.slice(0, colon).trim().toLowerCase(), field.slice(colon + 1).trim());
        }
        if (!/^HTTP\/1\.1 101 /.test(status)) return fail(new Error(`upgrade refused: ${status}`));
        if (headers.get("sec-websocket-accept") !== expectedAccept) return fail(new Error("wrong Sec-WebSocket-Accept"));
        resolve(new RawWebSocket(socket, headers, head.subarray(end + 4), options.echoClose ?? true));
      };
      const onClose = () => fail(new Error("connection closed during the upgrade"));
      socket.on("data", onData);
      socket.on("error", fail);
      socket.on("close", onClose);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    });
  }

  /** Whether the TCP connection is closed. */
  get closed(): boolean {
    return this.isEnded;
  }

  /** Writes raw bytes, all at once or in pieces of `chunk` bytes (separate writes). */
  write(bytes: Uint8Array, chunk?: number): void {
    if (this.isEnded || this.socket.writableEnded) return;
    if (chunk === undefined) {
      this.socket.write(bytes);
      return;
    }
    for (let at = 0; at < bytes.length; at += chunk) this.socket.write(bytes.subarray(at, at + chunk));
  }

  /** Encodes and writes frames (several go out in one write). */
  send(...specs: FrameSpec[]): void {
    this.write(Buffer.concat(specs.map(encodeFrame)));
  }

  text(text: string | Uint8Array): void {
    this.send({ opcode: Opcode.Text, payload: text });
  }

  /** Calls `listener` for each frame from now on (frames are also kept in `frames`). */
  onFrame(listener: (frame: ServerFrame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The next frame not yet taken by `next`; rejects if the connection ends first or after `timeoutMs`. */
  next(timeoutMs = 5000): Promise<ServerFrame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const frame = this.frames[this.read];
        if (frame !== undefined) {
          this.read++;
          done();
          resolve(frame);
        } else if (this.isEnded) {
          done();
          reject(new Error(`connection ended before frame #${this.read + 1}`));
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no frame #${this.read + 1} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The next frame as text: it must be a whole, unmasked text frame. */
  async nextText(timeoutMs = 5000): Promise<string> {
    const frame = await this.next(timeoutMs);
    if (frame.opcode !== Opcode.Text || !frame.fin || frame.masked)
      throw new Error(`expected a text frame, got ${describeFrame(frame)}`);
    return frame.payload.toString("utf8");
  }

  /** Frames received but not yet taken by `next`. */
  unread(): ServerFrame[] {
    return this.frames.slice(this.read);
  }

  /** What the server did wrong on the wire, if anything. */
  get serverViolation(): string | undefined {
    return this.violation;
  }

  /** Closes the TCP connection at once (no close frame). */
  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let at = 0;
    const buf = this.pending;
    for (;;) {
      if (buf.length - at < 2) break;
      const b0 = buf.readUInt8(at);
      const b1 = buf.readUInt8(at + 1);
      let length = b1 & 0x7f;
      let offset = at + 2;
      if (length === 126) {
        if (buf.length - at < 4) break;
        length = buf.readUInt16BE(offset);
        offset += 2;
      } else if (length === 127) {
        if (buf.length - at < 10) break;
        length = Number(buf.readBigUInt64BE(offset));
        offset += 8;
      }
      const masked = (b1 & 0x80) !== 0;
      const key = masked ? buf.subarray(offset, offset + 4) : undefined;
      if (masked) offset += 4;
      if (buf.length < offset + length) break;
      const payload: Buffer = Buffer.from(buf.subarray(offset, offset + length));
      if (key) for (let i = 0; i < payload.length; i++) payload.writeUInt8(payload.readUInt8(i) ^ key.readUInt8(i & 3), i);
      at = offset + length;
      this.accept({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0xf, masked, payload });
    }
    this.pending = at === buf.length ? Buffer.alloc(0) : buf.subarray(at);
  }

  private accept(frame: ServerFrame): void {
    if (frame.masked) this.violation ??= "the server masked a frame";
    if (this.closeFrame) this.violation ??= `a frame after the close frame: ${describeFrame(frame)}`;
    this.frames.push(frame);
    if (frame.opcode === Opcode.Close && !this.closeFrame) {
      this.closeFrame = frame;
      if (this.echoClose && !this.socket.writableEnded) {
        const code = parseClose(frame.payload).code;
        this.socket.end(encodeFrame({ opcode: Opcode.Close, payload: code === undefined ? "" : closePayload(code) }));
      }
    }
    for (const listener of this.listeners) listener(frame);
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

function parseClose(payload: Buffer): { code: number | undefined; reason: string } {
  if (payload.length < 2) return { code: undefined, reason: "" };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString("utf8") };
}

/** A frame in a few words, for failure messages. */
export function describeFrame(frame: ServerFrame): string {
  const body =
    frame.payload.length > 60 ? `${frame.payload.subarray(0, 60).toString("latin1")}…` : frame.payload.toString("latin1");
  return `opcode ${frame.opcode}${frame.fin ? "" : " (not fin)"}${frame.rsv ? ` rsv ${frame.rsv}` : ""} "${body}"`;
}
