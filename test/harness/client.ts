import WebSocket from "ws";

export interface Delivery {
  event: string;
  channel: string;
  data: unknown;
}
export type Reply = { ok: true } | { err: string };

/**
 * A raw protocol client over a real WebSocket: replies and deliveries are told apart by
 * shape ({ok}/{err} vs {event,channel,data}).
 */
export class TestClient {
  readonly replies: Reply[] = [];
  readonly deliveries: Delivery[] = [];
  readonly raw: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private replyWaiters: ((r: Reply) => void)[] = [];
  private deliveryWaiters = new Set<() => void>();
  private isClosed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const text = data.toString();
      this.raw.push(text);
      const msg = JSON.parse(text) as Record<string, unknown>;
      if ("ok" in msg || "err" in msg) {
        const waiter = this.replyWaiters.shift();
        if (waiter) waiter(msg as Reply);
        else this.replies.push(msg as Reply);
      } else {
        this.deliveries.push(msg as unknown as Delivery);
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
  nextReply(timeoutMs = 5000): Promise<Reply> {
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
  async request(frame: object | string, timeoutMs = 5000): Promise<Reply> {
    this.send(frame);
    return this.nextReply(timeoutMs);
  }

  async auth(access: "read-only" | "read-write", secret: string): Promise<Reply> {
    return this.request({ auth: { access, secret } });
  }

  async subscribe(channel: string): Promise<Reply> {
    return this.request({ subscribe: { channel } });
  }

  async publish(channel: string, event: string, data: unknown): Promise<Reply> {
    return this.request({ publish: { event, channel, data } });
  }

  /** Resolves once `count` deliveries in all have arrived. */
  waitForDeliveries(count: number, timeoutMs = 5000): Promise<Delivery[]> {
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
