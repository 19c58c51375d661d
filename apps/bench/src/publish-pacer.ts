import type { BenchClient } from "./bench-client.js";

/** Longest stretch of missed sends made up in one burst after a stall (GC pause, busy machine). */
const maxCatchUpMs = 100;
const tickMs = 1;

/**
 * Drives a worker's publishers: at a fixed total rate (spread round-robin, checked every
 * millisecond), or as fast as flow control allows (each publisher at most `window`
 * messages ahead of the slowest subscriber of its channel, topped up when credit arrives).
 * A publisher never writes into a congested socket.
 */
export class PublishPacer {
  private running = false;
  private ratePerSec = 0;
  private window = 1;
  private startedAt = 0;
  private sentSinceStart = 0;
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private pumpScheduled = false;
  private readonly credited: BenchClient[] = [];

  constructor(private readonly publishers: readonly BenchClient[]) {}

  start(ratePerSec: number, window: number): void {
    this.stop();
    if (this.publishers.length === 0) return;
    this.running = true;
    this.ratePerSec = ratePerSec;
    this.window = Math.max(1, window);
    this.startedAt = performance.now();
    this.sentSinceStart = 0;
    if (ratePerSec > 0) this.timer = setInterval(() => this.paced(), tickMs);
    else for (const p of this.publishers) this.credit(p);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A publisher's floor moved: in max-rate mode, top it up soon (once per I/O turn). */
  credit(publisher: BenchClient): void {
    if (!this.running || this.ratePerSec > 0 || publisher.queued) return;
    publisher.queued = true;
    this.credited.push(publisher);
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      setImmediate(() => this.pump());
    }
  }

  private room(p: BenchClient): number {
    if (!p.isOpen || p.congested) return 0;
    return this.window - (p.seq - p.floor());
  }

  private pump(): void {
    this.pumpScheduled = false;
    const batch = this.credited.splice(0);
    for (const p of batch) {
      p.queued = false;
      if (!this.running) continue;
      const room = this.room(p);
      if (room <= 0) {
        if (p.isOpen && p.congested) p.onDrain(() => this.credit(p));
        continue;
      }
      p.cork();
      for (let i = 0; i < room; i++) p.publishNext();
      p.uncork();
    }
  }

  private paced(): void {
    if (!this.running) return;
    const elapsedMs = performance.now() - this.startedAt;
    let due = Math.floor((this.ratePerSec * elapsedMs) / 1000) - this.sentSinceStart;
    const cap = Math.ceil((this.ratePerSec * maxCatchUpMs) / 1000);
    if (due > cap) {
      this.sentSinceStart += due - cap;
      due = cap;
    }
    if (due <= 0) return;
    const n = this.publishers.length;
    const quota = Math.max(1, Math.ceil(due / n));
    let idle = 0;
    while (due > 0 && idle < n) {
      const p = this.publishers[this.next];
      if (p === undefined) break;
      this.next = (this.next + 1) % n;
      const k = Math.min(due, quota, this.room(p));
      if (k <= 0) {
        idle++;
        continue;
      }
      idle = 0;
      p.cork();
      for (let i = 0; i < k; i++) p.publishNext();
      p.uncork();
      due -= k;
      this.sentSinceStart += k;
    }
  }
}
