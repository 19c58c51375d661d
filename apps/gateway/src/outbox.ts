import { type Outgoing, type OutgoingCounters, type OutgoingSocket, writeOutgoing } from "./outgoing.js";
import type { AnyReply } from "./replies.js";
import type { WriteBatch } from "./write-batch.js";

/** What an outbox needs of its WebSocket (uWS in production, a fake in unit tests). */
export interface OutboxSocket extends OutgoingSocket {
  cork(write: () => void): unknown;
  end(code: number, reason: string): void;
  subscribe(topic: string): unknown;
  unsubscribe(topic: string): unknown;
}

/** What every outbox of a hub shares. */
export interface OutboxShared {
  readonly counters: OutgoingCounters;
  readonly batch: WriteBatch;
}

type Mode = "idle" | "in-handler" | "closed";

/**
 * Everything that goes out to one connection: replies in request order (some are computed
 * asynchronously, a publish waits for Redis, an auth does not), written with as few syscalls
 * as it can, its channel topics, and its end. The one owner of whether the socket is closed:
 * a closed uWS socket must not be touched again.
 *
 * Inside a message handler ({@link enterHandler} … {@link exitHandler}) uWS has corked the
 * socket, so ready replies are written at once; replies completed later wait for the
 * {@link WriteBatch}. A reply never overtakes one requested before it.
 */
export class Outbox {
  private mode: Mode = "idle";
  /**
   * Replies not written yet, in request order; `undefined` holds the place of one still being
   * computed. Created on first need and dropped when empty, so an idle connection holds none.
   */
  private queue: (Outgoing | undefined)[] | undefined;
  /** The ticket of `queue[0]`. */
  private head = 0;
  /** The close to send once every reply before it is written. */
  private ending: { readonly code: number; readonly reason: string } | undefined;
  /** Called once everything queued so far is written. */
  private drained: (() => void)[] | undefined;

  constructor(
    private readonly socket: OutboxSocket,
    private readonly shared: OutboxShared,
  ) {}

  get closed(): boolean {
    return this.mode === "closed";
  }

  /** uWS runs this socket's message handler (and has corked it) until {@link exitHandler}. */
  enterHandler(): void {
    if (this.mode === "idle") this.mode = "in-handler";
  }

  exitHandler(): void {
    if (this.mode === "in-handler") this.mode = "idle";
  }

  /** Sends `reply` now, or after the replies reserved before it. */
  push(reply: AnyReply): void {
    this.pushItem(reply);
  }

  /**
   * Sends a frame the server generates (an `__unsubscribed` event) in the place of a reply:
   * after every reply requested before it, before any requested after.
   */
  pushFrame(text: string): void {
    this.pushItem(text);
  }

  /**
   * Sends a delivery frame after every reply requested so far (and the deliveries pushed
   * before it): recovered messages follow the reply to the subscribe that asked for them.
   */
  pushDelivery(frame: Uint8Array): void {
    this.pushItem({ delivery: frame });
  }

  /** Calls `done` once everything queued so far is written: at once when nothing is. Never after a close. */
  afterWritten(done: () => void): void {
    if (this.mode === "closed") return;
    if (this.queue === undefined) {
      done();
      return;
    }
    this.drained ??= [];
    this.drained.push(done);
  }

  private pushItem(item: Outgoing): void {
    if (this.mode === "closed") return;
    if (this.queue === undefined && this.mode === "in-handler") {
      this.write(item);
      return;
    }
    this.queue ??= [];
    this.queue.push(item);
    this.writeSoon();
  }

  /** Sends the reply `op` resolves with, in the place of this call in request order. */
  pushLater(op: Promise<AnyReply>): void {
    const ticket = this.reserve();
    void op.then((reply) => this.fill(ticket, reply));
  }

  /** Reserves the next place in order; {@link fill} it when its reply is known. */
  reserve(): number {
    this.queue ??= [];
    this.queue.push(undefined);
    return this.head + this.queue.length - 1;
  }

  fill(ticket: number, reply: AnyReply): void {
    if (this.mode === "closed" || this.queue === undefined) return;
    this.queue[ticket - this.head] = reply;
    if (this.queue[0] !== undefined) this.writeSoon();
  }

  /** Writes the replies that are ready, under one cork (called by the {@link WriteBatch}). */
  flush(): void {
    if (this.mode === "closed" || this.queue?.[0] === undefined) return;
    this.socket.cork(() => this.writeReady());
    this.endIfDone();
  }

  /** Closes the socket with `code` now, dropping whatever is queued: nothing is written after the close. */
  endNow(code: number, reason: string): void {
    if (this.mode === "closed") return;
    this.socket.end(code, reason);
    this.close();
  }

  /** Closes the socket with `code` once every reply requested so far is written. */
  endAfterReplies(code: number, reason: string): void {
    if (this.mode === "closed") return;
    this.ending = { code, reason };
    // Not from inside the handler: the reply written there leaves first.
    if (this.queue === undefined) queueMicrotask(() => this.endIfDone());
  }

  /** Subscribes the socket to a topic (uWS's C++ fan-out delivers to it from then on). */
  subscribe(topic: string): void {
    if (this.mode !== "closed") this.socket.subscribe(topic);
  }

  /**
   * Answers the request holding `ticket` with `reply` and writes every reply that is ready
   * now, synchronously; true when this one is out (none before it is still being computed).
   * The caller joins the topic the reply enables right after, in the same step, or waits
   * (pending-joins.ts).
   */
  fillNow(ticket: number, reply: AnyReply): boolean {
    if (this.mode === "closed" || this.queue === undefined) return false;
    this.queue[ticket - this.head] = reply;
    if (this.queue[0] !== undefined) {
      if (this.mode === "in-handler") this.writeReady();
      else this.socket.cork(() => this.writeReady());
      this.endIfDone();
    }
    return ticket < this.head;
  }

  unsubscribe(topic: string): void {
    if (this.mode !== "closed") this.socket.unsubscribe(topic);
  }

  /** The socket closed: nothing is written to it any more. Call once, from uWS's close handler. */
  close(): void {
    this.mode = "closed";
    this.queue = undefined;
    this.ending = undefined;
    this.drained = undefined;
    this.shared.batch.delete(this);
  }

  private writeSoon(): void {
    if (this.mode === "in-handler") this.writeReady();
    else this.shared.batch.add(this);
  }

  private writeReady(): void {
    const queue = this.queue;
    if (queue === undefined) return;
    let written = 0;
    for (const item of queue) {
      if (item === undefined) break;
      this.write(item);
      written += 1;
    }
    this.head += written;
    if (written === queue.length) this.queue = undefined;
    else if (written > 0) queue.splice(0, written);
    const drained = this.drained;
    if (this.queue !== undefined || drained === undefined) return;
    this.drained = undefined;
    for (const done of drained) done();
  }

  private endIfDone(): void {
    const ending = this.ending;
    if (ending === undefined || this.queue !== undefined || this.mode === "closed") return;
    this.ending = undefined;
    this.socket.end(ending.code, ending.reason);
  }

  private write(item: Outgoing): void {
    writeOutgoing(this.socket, this.shared.counters, item);
  }
}
