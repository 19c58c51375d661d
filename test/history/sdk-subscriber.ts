import { type Position, RocketClient } from "@rocket/client";

/**
 * An SDK client subscribed to one channel, counting what the application sees: the message
 * numbers (`data.i`) in arrival order with their positions, and the recovered and gap
 * events after reconnects.
 */
export class SdkSubscriber {
  readonly client: RocketClient;
  readonly numbers: number[] = [];
  readonly positions: Position[] = [];
  readonly recovered: Position[] = [];
  readonly gaps: Position[] = [];
  /** Close codes of the connections that ended. */
  readonly closeCodes: number[] = [];
  /** Index in `numbers` at which each gap event arrived. */
  readonly gapAt: number[] = [];

  constructor(url: string, channel: string) {
    this.client = new RocketClient({
      url,
      auth: { access: "read-only", secret: "" },
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      replyTimeoutMs: 5000,
      pingIntervalMs: 0,
    });
    this.client.on<{ i: number }>(channel, (m) => {
      this.numbers.push(m.data.i);
      if (m.offset !== undefined && m.epoch !== undefined) this.positions.push({ offset: m.offset, epoch: m.epoch });
    });
    this.client.onRecovered((e) => {
      if (e.position) this.recovered.push(e.position);
    });
    this.client.onGap((e) => {
      this.gapAt.push(this.numbers.length);
      if (e.position) this.gaps.push(e.position);
    });
    this.client.onState((s) => {
      if (s.closeCode !== undefined) this.closeCodes.push(s.closeCode);
    });
    this.client.onError(() => {});
  }

  /**
   * Positions that do not follow the one before in the same epoch, and epoch changes not
   * announced by a gap event right before them: the holes the application was not told of.
   */
  silentHoles(): number {
    let holes = 0;
    const announced = new Set(this.gapAt);
    for (let k = 1; k < this.positions.length; k++) {
      const prev = this.positions[k - 1];
      const cur = this.positions[k];
      if (prev === undefined || cur === undefined) continue;
      const follows = cur.epoch === prev.epoch ? cur.offset === prev.offset + 1 : cur.offset === 1;
      if (!follows && !announced.has(k)) holes += 1;
    }
    return holes;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/**
 * Publishes `{i}` on `channel` one at a time through an SDK client until stopped; `acked`
 * holds the numbers the server acknowledged ok (an error or a lost connection leaves the
 * outcome unknown: such a number is neither acked nor owed).
 */
export class SdkPublisher {
  readonly client: RocketClient;
  readonly acked: number[] = [];
  readonly failed: number[] = [];
  private running = true;
  private next = 0;
  readonly done: Promise<void>;

  constructor(url: string, secret: string, channel: string, pauseMs = 2, padding = "") {
    const client = new RocketClient({
      url,
      auth: { access: "read-write", secret },
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      replyTimeoutMs: 5000,
      pingIntervalMs: 0,
    });
    client.onError(() => {});
    this.client = client;
    this.done = (async () => {
      while (this.running) {
        const i = this.next++;
        try {
          await client.publish(channel, "m", padding === "" ? { i } : { i, padding });
          this.acked.push(i);
        } catch {
          this.failed.push(i);
        }
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    })();
  }

  /** Resolves once `count` more messages were acknowledged. */
  async waitForAcks(count: number, timeoutMs = 10_000): Promise<void> {
    const target = this.acked.length + count;
    const deadline = Date.now() + timeoutMs;
    while (this.acked.length < target) {
      if (Date.now() > deadline) throw new Error(`only ${this.acked.length} of ${target} acks`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    await this.client.close();
  }
}
