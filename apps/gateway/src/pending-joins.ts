import type { Outbox } from "./outbox.js";

/**
 * Sockets whose subscribe is confirmed but whose ok cannot be written yet, because a reply
 * requested before it is still being computed (a history read, a presence list). uWS writes
 * a topic's deliveries straight to the socket, so joining the topic now would let them
 * overtake that ok. Instead the topic's deliveries go through the connection's outbox,
 * behind the ok, until the outbox has written everything queued; then the socket joins the
 * topic, in the same step, and uWS takes over. No delivery is missed or written twice: both
 * the hand-over to the outbox and the join happen synchronously with fan-out.
 *
 * Shared by every hub; fan-out hands it every delivery while anyone waits.
 */
export class PendingJoins {
  private readonly waiting = new Map<string, Set<Outbox>>();

  /** Whether anyone waits (checked on every delivery, before any lookup). */
  get size(): number {
    return this.waiting.size;
  }

  /**
   * Joins `topic` once `outbox` has written everything queued now and from now on, its
   * deliveries of `topic` included (one behind another reply, or not yet written while a
   * later reply is pending, would be overtaken by uWS's).
   */
  wait(outbox: Outbox, topic: string): void {
    if (outbox.closed) return;
    let set = this.waiting.get(topic);
    if (set === undefined) {
      set = new Set();
      this.waiting.set(topic, set);
    }
    set.add(outbox);
    outbox.afterWritten(() => {
      if (this.leave(outbox, topic)) outbox.subscribe(topic);
    });
  }

  /** A delivery on `topic` on this node: queued behind the ok of every socket waiting to join it. */
  deliver(topic: string, frame: Uint8Array): void {
    const set = this.waiting.get(topic);
    if (set === undefined) return;
    for (const outbox of set) outbox.pushDelivery(frame);
  }

  /** `outbox` left `topic`, or closed, before it joined: it will not join. True when it was waiting. */
  leave(outbox: Outbox, topic: string): boolean {
    const set = this.waiting.get(topic);
    if (set === undefined || !set.delete(outbox)) return false;
    if (set.size === 0) this.waiting.delete(topic);
    return true;
  }
}
