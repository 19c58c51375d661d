import { encodeCommand } from "@rocket/protocol";
import { nowMicros } from "./clock.js";
import { FrameKind, frameKind, type PublishEncoder, readStamp, type Stamp } from "./frames.js";
import { type Histogram, recordMicros } from "./histogram.js";
import type { HttpPublisher } from "./http-publisher.js";
import { WsConnection } from "./ws-connection.js";

/** Where a client's publishes may run ahead to. */
export const Flow = {
  /** The client subscribes to its own channel: it waits for its own deliveries. */
  Self: 0,
  /** Subscribers are elsewhere: the coordinator sends the lowest sequence any of them saw. */
  Relayed: 1,
  /** Nobody local to wait for: the server's acknowledgements pace it. */
  Acks: 2,
} as const;
export type Flow = (typeof Flow)[keyof typeof Flow];

/** The tallies shared by all clients of a worker. Mutated in place: one object, no per-message allocation. */
export interface Tally {
  published: number;
  acks: number;
  errors: number;
  firstError: string | undefined;
  received: number;
  duplicates: number;
  gaps: number;
  churnDeliveries: number;
  dropped: number;
  closeCodes: Record<string, number>;
}

export function emptyTally(): Tally {
  return {
    published: 0,
    acks: 0,
    errors: 0,
    firstError: undefined,
    received: 0,
    duplicates: 0,
    gaps: 0,
    churnDeliveries: 0,
    dropped: 0,
    closeCodes: {},
  };
}

/** What clients report to their worker. */
export interface ClientHost {
  /** The worker's counters since setup and for the current phase. */
  readonly total: Tally;
  readonly phase: Tally;
  readonly latency: Histogram;
  /** A publisher may send more (its flow floor moved). */
  credit(client: BenchClient): void;
  /** A client's connection ended. */
  closed(client: BenchClient, code: number, expected: boolean): void;
}

export interface ClientOptions {
  readonly url: URL;
  readonly channel: string;
  readonly subscribe: boolean;
  /** Set for publishers: frames for this client's channel. */
  readonly encoder: PublishEncoder | undefined;
  /** Churning clients count their deliveries apart and are not checked for loss. */
  readonly churning: boolean;
  /** The worker's shared read buffer (see `ConnectOptions.readBuffer`). */
  readonly readBuffer: Buffer;
}

const decoder = new TextDecoder();

/** How load connections authenticate: with the hub's secrets, or all with one token. */
export interface ClientAccess {
  readonly secret: string;
  readonly readSecret: string;
  /** A token allowing subscribe and publish everywhere; when set, every connection presents it. */
  readonly token?: string | undefined;
}

/**
 * One load connection: auth and subscribe at setup, then counting deliveries (order,
 * loss, latency from the publisher's stamp) and, for a publisher, sending stamped
 * publishes within its flow window.
 */
export class BenchClient {
  readonly channel: string;
  readonly subscribes: boolean;
  readonly churning: boolean;
  readonly encoder: PublishEncoder | undefined;
  flow: Flow = Flow.Acks;
  /** Last sequence number received on the channel (subscribers). */
  lastSeq = 0;
  /** Last sequence number published (publishers). */
  seq = 0;
  /** Replies to publishes received so far. */
  replies = 0;
  /** For `Flow.Relayed`: the lowest sequence number every subscriber has seen. */
  relayFloor = 0;
  /** Queued for the pacer's next pump. */
  queued = false;
  /** Set (`--http-publish`): publishes go as `POST /api/publish` instead of over the WebSocket. */
  http: HttpPublisher | undefined;
  private connection: WsConnection | undefined;
  private setupLeft = 0;
  private setupDone: ((error: string | undefined) => void) | undefined;
  private closing = false;
  private awaitingDrain = false;
  private readonly stamp: Stamp = { seq: 0, sentAtUs: 0 };

  constructor(
    private readonly host: ClientHost,
    private readonly options: ClientOptions,
  ) {
    this.channel = options.channel;
    this.subscribes = options.subscribe;
    this.churning = options.churning;
    this.encoder = options.encoder;
    if (this.encoder && this.subscribes) this.flow = Flow.Self;
  }

  get isOpen(): boolean {
    return this.connection?.isOpen ?? false;
  }

  /** Connects, authenticates and subscribes; rejects with the reason on any failure. */
  async open(access: ClientAccess, localAddress: string | undefined, timeoutMs: number): Promise<void> {
    this.connection = await WsConnection.connect(
      this.options.url,
      { localAddress, timeoutMs, readBuffer: this.options.readBuffer },
      this,
    );
    const result = new Promise<string | undefined>((resolve) => {
      this.setupDone = resolve;
    });
    this.setupLeft = this.subscribes ? 2 : 1;
    this.connection.cork();
    const auth =
      access.token !== undefined
        ? encodeCommand({ type: "auth", token: access.token })
        : this.encoder
          ? encodeCommand({ type: "auth", access: "read-write", secret: access.secret })
          : encodeCommand({ type: "auth", access: "read-only", secret: access.readSecret });
    this.connection.sendText(auth);
    if (this.subscribes) this.connection.sendText(encodeCommand({ type: "subscribe", channel: this.channel }));
    this.connection.uncork();
    const timer = setTimeout(() => this.finishSetup(`no reply to auth/subscribe within ${timeoutMs} ms`), timeoutMs);
    const error = await result;
    clearTimeout(timer);
    if (error !== undefined) {
      this.terminate();
      throw new Error(error);
    }
  }

  /** The lowest sequence number known to have reached every subscriber of this channel. */
  floor(): number {
    return this.flow === Flow.Self ? this.lastSeq : this.flow === Flow.Relayed ? this.relayFloor : this.replies;
  }

  /** True when the kernel buffer is full. */
  get congested(): boolean {
    return this.connection?.congested ?? true;
  }

  /** Calls `listener` once the socket can take writes again (one waiter at a time). */
  onDrain(listener: () => void): void {
    if (this.awaitingDrain || !this.connection) return;
    this.awaitingDrain = true;
    this.connection.onDrain(() => {
      this.awaitingDrain = false;
      listener();
    });
  }

  cork(): void {
    this.connection?.cork();
  }

  uncork(): void {
    this.connection?.uncork();
  }

  /** Sends the next publish, stamped now. */
  publishNext(): void {
    const connection = this.connection;
    if (!connection || !this.encoder) return;
    this.seq++;
    if (this.http) this.http.publish(this.seq, nowMicros());
    else connection.sendFrame(this.encoder.frame(this.seq, nowMicros(), connection.nextMask()));
    this.host.total.published++;
    this.host.phase.published++;
  }

  /** Ends the connection on purpose (no "dropped" count). */
  close(): void {
    this.closing = true;
    this.connection?.close(1000);
    this.http?.close();
  }

  terminate(): void {
    this.closing = true;
    this.connection?.terminate();
    this.http?.close();
  }

  /** The answer to a publish sent over HTTP. */
  httpReply(ok: boolean, text: string): void {
    this.replies++;
    this.countReply(ok, () => text);
  }

  message(buf: Buffer, start: number, end: number, receivedAtUs: number): void {
    const kind = frameKind(buf, start, end);
    if (kind === FrameKind.Delivery) return this.delivery(buf, start, end, receivedAtUs);
    if (kind === FrameKind.Other) return;
    if (this.setupLeft > 0) {
      if (kind === FrameKind.Err) return this.finishSetup(`setup refused: ${decoder.decode(buf.subarray(start, end))}`);
      if (--this.setupLeft === 0) this.finishSetup(undefined);
      return;
    }
    this.replies++;
    this.countReply(kind === FrameKind.Ok, () => decoder.decode(buf.subarray(start, end)));
  }

  private countReply(ok: boolean, text: () => string): void {
    const { total, phase } = this.host;
    if (ok) {
      total.acks++;
      phase.acks++;
    } else {
      total.errors++;
      phase.errors++;
      phase.firstError ??= text();
    }
    if (this.flow === Flow.Acks) this.host.credit(this);
  }

  closed(code: number): void {
    this.finishSetup(`connection closed (${code})`);
    this.host.closed(this, code, this.closing);
  }

  private delivery(buf: Buffer, start: number, end: number, receivedAtUs: number): void {
    const { phase } = this.host;
    if (this.churning) {
      phase.churnDeliveries++;
      return;
    }
    if (!readStamp(buf, start, end, this.stamp)) return;
    const { seq, sentAtUs } = this.stamp;
    const { total } = this.host;
    const expected = this.lastSeq + 1;
    if (seq < expected) {
      phase.duplicates++;
      return;
    }
    if (seq > expected) phase.gaps += seq - expected;
    this.lastSeq = seq;
    total.received++;
    phase.received++;
    recordMicros(this.host.latency, receivedAtUs - sentAtUs);
    if (this.flow === Flow.Self) this.host.credit(this);
  }

  private finishSetup(error: string | undefined): void {
    const done = this.setupDone;
    if (!done) return;
    this.setupDone = undefined;
    this.setupLeft = 0;
    done(error);
  }
}
