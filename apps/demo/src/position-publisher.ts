/** A dot's position, each coordinate in [0, 1] of the board, rounded to 1/1000. */
export interface Position {
  readonly x: number;
  readonly y: number;
}

export interface PositionPublisherDeps {
  /** Publishes one position; a rejection means it may not have arrived. */
  readonly send: (position: Position) => Promise<void>;
  /** Whether sending makes sense now (connected, allowed to publish). */
  readonly canSend: () => boolean;
  /** Shortest time between two sends, ms. */
  readonly intervalMs: number;
  readonly now?: () => number;
}

/**
 * Sends the latest position at a bounded rate and only when it changed: between two sends
 * the moves collapse into the newest one, and the newest one always goes out eventually.
 * While sending is not possible nothing piles up: the position waits, and goes out on
 * `resume()`. The replicator in the seed sent only state changes too.
 */
export class PositionPublisher {
  readonly #deps: PositionPublisherDeps;
  readonly #now: () => number;
  #latest: Position | undefined;
  /** What the others last got from us; undefined forces the next send. */
  #sent: Position | undefined;
  #sentAt = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(deps: PositionPublisherDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => performance.now());
  }

  get latest(): Position | undefined {
    return this.#latest;
  }

  /** A new position of our dot. */
  update(position: Position): void {
    this.#latest = round(position);
    this.#schedule();
  }

  /** Send the current position again even if unchanged (someone new asked, or we reconnected). */
  resend(): void {
    this.#sent = undefined;
    this.#schedule();
  }

  /** Sending became possible again. */
  resume(): void {
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    const latest = this.#latest;
    if (latest === undefined || same(latest, this.#sent) || !this.#deps.canSend()) return;
    const wait = this.#sentAt + this.#deps.intervalMs - this.#now();
    if (wait > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#schedule();
      }, wait);
      return;
    }
    this.#sent = latest;
    this.#sentAt = this.#now();
    this.#deps.send(latest).catch(() => {
      // It may not have arrived: send the then-latest position again when possible.
      if (this.#sent === latest) this.#sent = undefined;
    });
  }
}

function round(p: Position): Position {
  const r = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 1000) / 1000;
  return { x: r(p.x), y: r(p.y) };
}

function same(a: Position, b: Position | undefined): boolean {
  return b !== undefined && a.x === b.x && a.y === b.y;
}
