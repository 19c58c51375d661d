/**
 * Counts events over a sliding window (default one second) in ten buckets, so that a
 * burst of thousands of messages costs ten numbers, not thousands of timestamps.
 */
export class RateMeter {
  readonly #buckets: number[];
  readonly #bucketMs: number;
  readonly #now: () => number;
  /** Index (in bucket units since the epoch of `now`) of the newest bucket. */
  #head = 0;

  constructor(windowMs = 1000, now: () => number = () => performance.now(), buckets = 10) {
    this.#buckets = new Array<number>(buckets).fill(0);
    this.#bucketMs = windowMs / buckets;
    this.#now = now;
    this.#head = Math.floor(now() / this.#bucketMs);
  }

  /** Records `count` events now. */
  add(count = 1): void {
    this.#advance();
    const i = this.#head % this.#buckets.length;
    this.#buckets[i] = (this.#buckets[i] as number) + count;
  }

  /** Events per second over the window. */
  perSecond(): number {
    this.#advance();
    const total = this.#buckets.reduce((a, b) => a + b, 0);
    return (total * 1000) / (this.#bucketMs * this.#buckets.length);
  }

  #advance(): void {
    const current = Math.floor(this.#now() / this.#bucketMs);
    const steps = Math.min(current - this.#head, this.#buckets.length);
    for (let s = 1; s <= steps; s++) this.#buckets[(this.#head + s) % this.#buckets.length] = 0;
    if (current > this.#head) this.#head = current;
  }
}
