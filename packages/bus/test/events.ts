/** A log of things that happened, with a way to wait for one (no polling, no sleeps). */
export class EventLog<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<() => void>();

  push(item: T): void {
    this.items.push(item);
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with the first item, from `from` on, that matches. */
  waitFor(match: (item: T) => boolean, timeoutMs = 5000, from = 0, what = "event"): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.items.slice(from).find(match);
        if (found === undefined) return false;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.items.slice(from)).slice(0, 500)}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(check);
    });
  }
}
