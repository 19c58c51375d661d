import { encodeFrame, Opcode, RawWebSocket, type ServerFrame } from "../harness/raw-websocket.js";
import type { FrameInput } from "./json-frames.js";
import { type ChannelWorld, type Prediction, SessionModel } from "./session-model.js";

/** Counts of one connection's run. */
export interface FuzzCounts {
  /** Frames sent. */
  sent: number;
  /** Replies received, each matched against the model. */
  replies: number;
  deliveries: number;
  /** Connections closed by `{"disconnect":true}` and opened again. */
  reconnects: number;
}

interface Pending {
  readonly input: FrameInput;
  readonly prediction: Prediction;
}

/** Bound on waiting for a batch's replies: only a failure waits this long. */
const batchTimeoutMs = 30_000;

/**
 * Drives inputs through one connection at a time, `batch` frames per write, and checks
 * every reply against the session model: exactly one per frame, in order, one of the
 * replies the model allows. Deliveries must be of something published to a channel the
 * connection subscribed to, and a connection's own publishes to a channel it is subscribed
 * to must reach it.
 */
export class FuzzConnection {
  readonly counts: FuzzCounts = { sent: 0, replies: 0, deliveries: 0, reconnects: 0 };
  private ws: RawWebSocket | undefined;
  private model: SessionModel;
  private pending: Pending[] = [];
  /** Own publishes that must be delivered back, as delivery keys, with counts. */
  private owed = new Map<string, number>();
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly port: number,
    private readonly world: ChannelWorld,
    private readonly readWriteSecret: string,
  ) {
    this.model = new SessionModel(world, readWriteSecret);
  }

  /** Sends every input; throws at the first frame the gateway answers differently from the model. */
  async run(inputs: readonly FrameInput[], batch: number): Promise<void> {
    let at = 0;
    while (at < inputs.length) {
      const ws = this.ws ?? (await this.open());
      const wire: Buffer[] = [];
      let closes = false;
      for (; at < inputs.length && wire.length < batch && !closes; at++) {
        const input = inputs[at];
        if (input === undefined) break;
        const prediction = this.model.predict(input.bytes);
        if (prediction === undefined) break;
        this.pending.push({ input, prediction });
        if (prediction.publish && this.model.isSubscribed(prediction.publish.channel)) {
          const key = deliveryKey(prediction.publish.channel, prediction.publish.event, prediction.publish.data);
          // Owed only if the publish is answered ok; settled when its reply comes.
          this.owed.set(key, (this.owed.get(key) ?? 0) + 1);
        }
        closes = prediction.closes;
        wire.push(encodeFrame({ opcode: input.kind === "text" ? Opcode.Text : Opcode.Binary, payload: input.bytes }));
      }
      this.counts.sent += wire.length;
      ws.write(Buffer.concat(wire));
      await this.settled(ws, closes);
    }
    this.ws?.destroy();
  }

  private async open(): Promise<RawWebSocket> {
    const ws = await RawWebSocket.connect(this.port);
    ws.onFrame((frame) => this.receive(frame));
    void ws.ended.then((ending) => {
      const next = this.pending[0];
      if (next)
        this.failure ??= new Error(`the connection ended (${JSON.stringify(ending)}) before answering ${show(next.input)}`);
      this.wake?.();
    });
    this.ws = ws;
    return ws;
  }

  /** Waits until every pending frame is answered (and, after a disconnect, the close). */
  private async settled(ws: RawWebSocket, closes: boolean): Promise<void> {
    const done = () => this.failure !== undefined || this.pending.length === 0;
    if (!done()) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.wake = undefined;
          const next = this.pending[0];
          reject(
            new Error(
              `no reply within ${batchTimeoutMs} ms to ${next ? show(next.input) : "?"} (${this.pending.length} unanswered)`,
            ),
          );
        }, batchTimeoutMs);
        this.wake = () => {
          if (!done()) return;
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
    if (this.failure) throw this.failure;
    if (ws.closed && !closes) throw new Error(`the connection ended unexpectedly: ${JSON.stringify(await ws.ended)}`);
    for (const [key, n] of this.owed) if (n > 0) throw new Error(`an own publish was not delivered back: ${key}`);
    if (!closes) return;
    const ending = await ws.ended;
    if (ending.kind !== "close" || ending.code !== 1000) throw new Error(`disconnect ended with ${JSON.stringify(ending)}`);
    this.counts.reconnects++;
    this.ws = undefined;
    this.owed.clear();
    this.model = new SessionModel(this.world, this.readWriteSecret);
  }

  private receive(frame: ServerFrame): void {
    try {
      this.check(frame);
    } catch (err) {
      this.failure ??= err as Error;
    }
    this.wake?.();
  }

  private check(frame: ServerFrame): void {
    if (frame.opcode === Opcode.Close) {
      if (this.pending.length > 0)
        throw new Error(`closed with ${this.pending.length} frames unanswered, next ${show(this.pending[0]?.input)}`);
      return;
    }
    if (frame.opcode !== Opcode.Text || !frame.fin || frame.rsv !== 0 || frame.masked) {
      throw new Error(`unexpected frame: opcode ${frame.opcode} fin ${frame.fin} rsv ${frame.rsv}`);
    }
    const text = frame.payload.toString("utf8");
    if (text.startsWith('{"event":')) return this.delivery(text);
    const next = this.pending.shift();
    if (next === undefined) throw new Error(`a reply nobody asked for: ${text}`);
    this.counts.replies++;
    if (!next.prediction.replies.includes(text)) {
      throw new Error(`${show(next.input)} was answered ${text}; the model allows ${next.prediction.replies.join(" or ")}`);
    }
    if (next.prediction.creates !== undefined) this.world.subscribed(next.prediction.creates);
    const publish = next.prediction.publish;
    if (publish && text !== '{"ok":true}') {
      // Answered invalid_channel after all (another connection had not created it yet): nothing owed.
      const key = deliveryKey(publish.channel, publish.event, publish.data);
      const n = this.owed.get(key);
      if (n !== undefined) this.owed.set(key, n - 1);
    }
  }

  private delivery(text: string): void {
    this.counts.deliveries++;
    const { event, channel, data, ...rest } = JSON.parse(text) as { event: string; channel: string; data: unknown };
    if (Object.keys(rest).length > 0) throw new Error(`a delivery with extra keys: ${text}`);
    if (!this.model.hasSubscribed(channel)) throw new Error(`a delivery for a channel never subscribed here: ${text}`);
    if (!this.world.wasPublished(channel, event, data)) throw new Error(`a delivery of something never published: ${text}`);
    const key = deliveryKey(channel, event, data);
    const n = this.owed.get(key);
    if (n !== undefined && n > 0) this.owed.set(key, n - 1);
  }
}

function deliveryKey(channel: string, event: string, data: unknown): string {
  return JSON.stringify([channel, event, data]);
}

function show(input: FrameInput | undefined): string {
  if (input === undefined) return "nothing";
  const text = input.bytes.toString(input.kind === "text" ? "utf8" : "latin1");
  return `${input.kind} frame ${JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}…` : text)}`;
}
