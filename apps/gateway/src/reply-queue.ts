/**
 * Sends replies in request order although some are computed asynchronously (a publish
 * waits for Redis, an auth does not). A reply that is ready while nothing is pending goes
 * out at once, without touching the queue.
 */
export class ReplyQueue {
  private readonly items: (string | undefined)[] = [];
  private offset = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly send: (text: string) => void) {}

  /** True when no reply is waiting to be sent. */
  get idle(): boolean {
    return this.items.length === 0;
  }

  /** Sends `text` now, or after the replies reserved before it. */
  push(text: string): void {
    if (this.items.length === 0) this.send(text);
    else this.items.push(text);
  }

  /** Reserves the next place in order; fill it with {@link fill}. */
  reserve(): number {
    this.items.push(undefined);
    return this.offset + this.items.length - 1;
  }

  /** Fills a reserved place and sends every reply that is now first in line. */
  fill(ticket: number, text: string): void {
    this.items[ticket - this.offset] = text;
    let ready = 0;
    while (ready < this.items.length && this.items[ready] !== undefined) ready++;
    if (ready === 0) return;
    const out = this.items.splice(0, ready) as string[];
    this.offset += ready;
    for (const reply of out) this.send(reply);
    if (this.items.length === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Resolves once every reserved reply has been sent. */
  whenIdle(): Promise<void> {
    if (this.items.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
