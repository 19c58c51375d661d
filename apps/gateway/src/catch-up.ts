import type { HistoryPage, StreamPosition } from "@rocket/bus";
import type { Outbox } from "./outbox.js";

/** What a catch-up needs of the node it runs on. */
interface CatchUpOwner {
  /** The last position this node delivered on the topic (the bus's count). */
  livePosition(topic: string): StreamPosition | undefined;
  /** The catch-up is over: the socket is on the topic (or the catch-up failed). */
  finished(catchUp: CatchUp): void;
  /** Live messages do not continue what was sent: the connection must start over. */
  broken(catchUp: CatchUp): void;
}

type Phase = "reading" | "forwarding" | "switching" | "done";

/**
 * One connection catching up on one topic with history, between its subscribe and the
 * moment it joins the uWS topic, so that it gets every message once and in order while
 * publishes go on.
 *
 * The node already receives the topic live (gap-filled, in order) when this starts.
 * `reading`: live messages are held while the history is read. On the read's result
 * ({@link start}, synchronously in the read's callback) the history's messages go to the
 * outbox behind the reply the session reserved, then the held ones that come after them,
 * and from then on live messages follow the same way (`forwarding`), dropping those already
 * sent. Once the node's own count has reached the last message sent (a live message read
 * from the subscriber connection after the history read can be older than the read's end),
 * and the outbox has written everything (`switching`), the socket joins the uWS topic and
 * later messages reach it through uWS's fan-out like everyone else's. Frames without a
 * position (never stored) are not part of the count: a connection catching up gets them
 * once it has joined the topic.
 */
export class CatchUp {
  private phase: Phase = "reading";
  private readonly held: { frame: Uint8Array; position: StreamPosition }[] = [];
  private last: StreamPosition = { offset: 0, epoch: "" };

  constructor(
    readonly outbox: Outbox,
    readonly topic: string,
    private readonly owner: CatchUpOwner,
  ) {}

  /** Whether it still needs the topic's live messages. */
  get active(): boolean {
    return this.phase !== "done";
  }

  /** The read's result: sends what it holds after the client's position, then what was held. */
  start(page: HistoryPage): void {
    if (this.phase !== "reading") return;
    this.last = page.position;
    if (page.complete) for (const entry of page.entries) this.outbox.pushDelivery(entry.frame);
    this.phase = "forwarding";
    for (const { frame, position } of this.held.splice(0)) this.forward(frame, position);
    this.trySwitch();
  }

  /** A live message of the topic, delivered on this node. */
  live(frame: Uint8Array, position: StreamPosition): void {
    if (this.phase === "reading") this.held.push({ frame, position });
    else if (this.phase !== "done") {
      this.forward(frame, position);
      this.trySwitch();
    }
  }

  /** The connection left the topic or closed. */
  cancel(): void {
    this.phase = "done";
    this.held.length = 0;
  }

  private forward(frame: Uint8Array, position: StreamPosition): void {
    const { last } = this;
    // A new epoch starting at 1 continues the count, as the bus itself takes it.
    const next = position.epoch === last.epoch ? position.offset === last.offset + 1 : position.offset === 1;
    if (position.epoch === last.epoch && position.offset <= last.offset) return;
    if (!next) {
      this.cancel();
      this.owner.broken(this);
      return;
    }
    this.last = position;
    this.outbox.pushDelivery(frame);
  }

  private trySwitch(): void {
    if (this.phase !== "forwarding") return;
    const live = this.owner.livePosition(this.topic);
    const { last } = this;
    const caughtUp = last.offset === 0 || (live !== undefined && live.epoch === last.epoch && live.offset >= last.offset);
    if (!caughtUp) return;
    this.phase = "switching";
    this.outbox.afterWritten(() => {
      if (this.phase !== "switching") return;
      this.phase = "done";
      this.outbox.subscribe(this.topic);
      this.owner.finished(this);
    });
  }
}
