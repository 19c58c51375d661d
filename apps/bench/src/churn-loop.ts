import { BenchClient, type ClientAccess, type ClientHost } from "./bench-client.js";
import { nowMicros } from "./clock.js";
import type { ChurnSpec } from "./messages.js";

const tickMs = 5;
/** Cycles in flight at once; past this the storm is limited by the server's speed, not the rate. */
const maxInFlight = 2000;

export interface ChurnTally {
  cycles: number;
  failures: number;
  firstError: string | undefined;
}

/**
 * Reconnect storms: starts connect → auth → subscribe → hold → disconnect cycles at a
 * fixed rate and records how long each took to be subscribed.
 */
export class ChurnLoop {
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private started = 0;
  private inFlight = 0;
  private next = 0;
  private readonly url: URL;
  readonly tally: ChurnTally = { cycles: 0, failures: 0, firstError: undefined };
  private readonly live = new Set<BenchClient>();

  constructor(
    private readonly spec: ChurnSpec,
    private readonly host: ClientHost,
    private readonly access: ClientAccess,
    private readonly sourceAddresses: readonly string[],
    private readonly timeoutMs: number,
    private readonly readBuffer: Buffer,
    /** Receives each cycle's connect-to-subscribed time in microseconds. */
    private readonly record: (micros: number) => void,
  ) {
    this.url = new URL(spec.url);
  }

  start(): void {
    this.stop();
    this.startedAt = performance.now();
    this.started = 0;
    this.timer = setInterval(() => this.tick(), tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops starting cycles and closes the clients still held. */
  closeAll(): void {
    this.stop();
    for (const client of this.live) client.terminate();
    this.live.clear();
  }

  private tick(): void {
    const due = Math.floor(((performance.now() - this.startedAt) * this.spec.ratePerSec) / 1000) - this.started;
    for (let i = 0; i < due && this.inFlight < maxInFlight; i++) {
      this.started++;
      void this.cycle();
    }
    // a rate the server cannot follow is not made up later: the storm stays at the rate asked
    if (this.inFlight >= maxInFlight)
      this.started = Math.floor(((performance.now() - this.startedAt) * this.spec.ratePerSec) / 1000);
  }

  private async cycle(): Promise<void> {
    this.inFlight++;
    const client = new BenchClient(this.host, {
      url: this.url,
      channel: this.spec.channel,
      subscribe: true,
      encoder: undefined,
      churning: true,
      readBuffer: this.readBuffer,
    });
    const source = this.sourceAddresses.length > 0 ? this.sourceAddresses[this.next++ % this.sourceAddresses.length] : undefined;
    const began = nowMicros();
    try {
      this.live.add(client);
      await client.open(this.access, source, this.timeoutMs);
      this.record(nowMicros() - began);
      await new Promise((resolve) => setTimeout(resolve, this.spec.holdMs));
      client.close();
      this.tally.cycles++;
    } catch (err) {
      this.tally.failures++;
      this.tally.firstError ??= (err as Error).message;
    } finally {
      this.live.delete(client);
      this.inFlight--;
    }
  }
}
