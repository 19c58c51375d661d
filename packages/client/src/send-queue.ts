/**
 * The requests waiting for a connection, oldest first, bounded so that an outage cannot
 * grow memory without limit. A full queue refuses (`push` returns false) and the caller
 * rejects the request: nothing is ever dropped silently.
 */
export class SendQueue<T> {
  readonly #items: T[] = [];

  constructor(readonly limit: number) {
    if (!(limit >= 0)) throw new RangeError(`queue limit must be 0 or more, got ${limit}`);
  }

  get size(): number {
    return this.#items.length;
  }

  /** Appends `item`; false when the queue already holds `limit` items. */
  push(item: T): boolean {
    if (this.#items.length >= this.limit) return false;
    this.#items.push(item);
    return true;
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    return this.#items.shift();
  }

  /**
   * Puts `items` back at the front, in their order, whatever the limit: they were
   * accepted once already (requests retried after a lost connection).
   */
  unshift(items: readonly T[]): void {
    this.#items.unshift(...items);
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    return this.#items.splice(0);
  }
}
