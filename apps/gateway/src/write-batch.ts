/** What a batch writes: an outbox. */
export interface Flushable {
  /** Writes what is ready, under one cork. */
  flush(): void;
}

/**
 * Gathers outboxes with replies completed outside a message handler (a publish acknowledged
 * by Redis) and writes each one's under one cork at the end of the event-loop turn, so a
 * burst of acknowledgements read in one go from Redis leaves in one write per socket.
 */
export class WriteBatch {
  private readonly waiting = new Set<Flushable>();
  private scheduled = false;

  add(outbox: Flushable): void {
    this.waiting.add(outbox);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushAll);
  }

  delete(outbox: Flushable): void {
    this.waiting.delete(outbox);
  }

  private readonly flushAll = (): void => {
    this.scheduled = false;
    for (const outbox of this.waiting) outbox.flush();
    this.waiting.clear();
  };
}
