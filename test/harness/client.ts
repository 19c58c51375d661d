import { type Access, type Delivery, encodeCommand, type FrameExtras, parseServerFrame, type Reply } from "@rocket/protocol";
import WebSocket from "ws";

export type { Delivery, Reply };

/** A reply or delivery as received: with any keys a newer server adds. */
export type Received<T> = T & FrameExtras;

/**
 * A raw protocol client over a real WebSocket: frames are sorted into replies and
 * deliveries by the protocol package's parser; anything else is kept in `raw` only.
 */
export class TestClient {
  readonly replies: Received<Reply>[] = [];
  readonly deliveries: Received<Delivery>[] = [];
  readonly raw: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private replyWaiters: ((r: Received<Reply>) => void)[] = [];
  private deliveryWaiters = new Set<() => void>();
  private isClosed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const text = data.toString();
      this.raw.push(text);
      const frame = parseServerFrame(text);
      if (frame?.type === "reply") {
        const reply = { ...frame.reply, ...frame.extras };
        const waiter = this.replyWaiters.shift();
        if (waiter) waiter(reply);
        else this.replies.push(reply);
      } else if (frame?.type === "delivery") {
        this.deliveries.push({ ...frame.delivery, ...frame.extras });
        for (const w of [...this.deliveryWaiters]) w();
      }
    });
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => {
        this.isClosed = true;
        for (const w of [...this.deliveryWaiters]) w();
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  static connect(url: string, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      const client = new TestClient(ws);
      ws.once("open", () => resolve(client));
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
  }

  get isOpen(): boolean {
    return !this.isClosed && this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: object | string | Buffer): void {
    this.ws.send(typeof frame === "string" || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame));
  }

  /** The next reply, in order (replies already received first). */
  nextReply(timeoutMs = 5000): Promise<Received<Reply>> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no reply in time")), timeoutMs);
      this.replyWaiters.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }

  /** Sends a command and resolves with its reply. */
  async request(frame: object | string, timeoutMs = 5000): Promise<Received<Reply>> {
    this.send(frame);
    return this.nextReply(timeoutMs);
  }

  async auth(access: Access, secret: string): Promise<Received<Reply>> {
    return this.request(encodeCommand({ type: "auth", access, secret }));
  }

  async subscribe(channel: string): Promise<Received<Reply>> {
    return this.request(encodeCommand({ type: "subscribe", channel }));
  }

  async publish(channel: string, event: string, data: unknown): Promise<Received<Reply>> {
    return this.request(encodeCommand({ type: "publish", event, channel, data }));
  }

  /** Resolves once `count` deliveries in all have arrived. */
  waitForDeliveries(count: number, timeoutMs = 5000): Promise<Received<Delivery>[]> {
    if (this.deliveries.length >= count) return Promise.resolve(this.deliveries.slice(0, count));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.deliveryWaiters.delete(check);
        reject(new Error(`got ${this.deliveries.length} of ${count} deliveries`));
      }, timeoutMs);
      const check = () => {
        if (this.deliveries.length >= count) {
          clearTimeout(timer);
          this.deliveryWaiters.delete(check);
          resolve(this.deliveries.slice(0, count));
        } else if (this.isClosed) {
          clearTimeout(timer);
          this.deliveryWaiters.delete(check);
          reject(new Error(`closed after ${this.deliveries.length} of ${count} deliveries`));
        }
      };
      this.deliveryWaiters.add(check);
    });
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}
