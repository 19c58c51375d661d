import { BenchClient, type ClientHost, emptyTally, Flow, type Tally } from "./bench-client.js";
import { ChurnLoop } from "./churn-loop.js";
import { PublishEncoder } from "./frames.js";
import { createHistogram, encodeHistogram, recordMicros } from "./histogram.js";
import { HttpPublisher } from "./http-publisher.js";
import type { Counters, DrainMessage, PhaseCounts, SetupMessage, StartMessage, ToWorker } from "./messages.js";
import { PublishPacer } from "./publish-pacer.js";
import { type WorkerLink, workerLink } from "./worker-transport.js";

const floorReportMs = 5;
/** One read buffer for all of a worker's sockets: reads are handled one at a time. */
const readBufferBytes = 256 * 1024;
const drainPollMs = 5;

/**
 * One load worker: opens its share of the connections, then runs phases on the
 * coordinator's command, ticking counters and interval latency histograms back.
 */
class Worker implements ClientHost {
  readonly total: Tally = emptyTally();
  phase: Tally = emptyTally();
  latency = createHistogram();
  private readonly churnLatency = createHistogram();
  private epoch = 0;
  private clients: BenchClient[] = [];
  private subscribers: BenchClient[] = [];
  private pacer = new PublishPacer([]);
  private churn: ChurnLoop | undefined;
  private relayedPublishers = new Map<string, BenchClient>();
  private lastFloors: Record<string, number> = {};
  private readonly timers: NodeJS.Timeout[] = [];
  private churnAtPhaseStart = { cycles: 0, failures: 0 };
  /** Sequence numbers each channel's subscribers are known to be owed up to (from the last drain). */
  private owed: Record<string, number> = {};
  private readonly readBuffer = Buffer.allocUnsafe(readBufferBytes);

  constructor(private readonly link: WorkerLink) {}

  handle(message: ToWorker): void {
    switch (message.type) {
      case "setup":
        void this.open(message).catch((err: unknown) => this.link.post({ type: "fatal", message: String(err) }));
        return;
      case "reset":
        return this.reset(message.epoch);
      case "start":
        return this.start(message);
      case "mark":
        this.epoch = message.epoch;
        this.latency.reset();
        this.link.post({ type: "marked", counters: this.counters() });
        return;
      case "stop":
        return this.stop();
      case "drain":
        return this.drain(message);
      case "floor":
        for (const [channel, floor] of Object.entries(message.floors)) {
          const publisher = this.relayedPublishers.get(channel);
          if (publisher && floor > publisher.relayFloor) {
            publisher.relayFloor = floor;
            this.pacer.credit(publisher);
          }
        }
        return;
      case "close":
        void this.close();
        return;
    }
  }

  credit(client: BenchClient): void {
    this.pacer.credit(client);
  }

  closed(client: BenchClient, code: number, expected: boolean): void {
    if (expected || client.churning) return;
    this.total.dropped++;
    this.phase.dropped++;
    this.phase.closeCodes[code] = (this.phase.closeCodes[code] ?? 0) + 1;
  }

  private async open(setup: SetupMessage): Promise<void> {
    const access = { secret: setup.secret, readSecret: setup.readSecret, token: setup.token };
    const relayed = new Set(setup.relayedChannels);
    const encoders = new Map<string, PublishEncoder>();
    this.clients = setup.conns.map((spec) => {
      let encoder: PublishEncoder | undefined;
      if (spec.publish) {
        encoder = encoders.get(spec.channel) ?? new PublishEncoder(setup.event, spec.channel, setup.payloadBytes);
        encoders.set(spec.channel, encoder);
      }
      const client = new BenchClient(this, {
        url: new URL(spec.url),
        channel: spec.channel,
        subscribe: spec.subscribe,
        encoder,
        churning: false,
        readBuffer: this.readBuffer,
      });
      const http = setup.httpPublish;
      if (encoder && http) {
        client.http = new HttpPublisher(http, new URL(spec.url), spec.channel, setup.event, setup.payloadBytes, (ok, text) =>
          client.httpReply(ok, text),
        );
      }
      if (spec.publish && relayed.has(spec.channel)) {
        client.flow = Flow.Relayed;
        this.relayedPublishers.set(spec.channel, client);
      }
      return client;
    });
    this.subscribers = this.clients.filter((c) => c.subscribes);
    this.pacer = new PublishPacer(this.clients.filter((c) => c.encoder !== undefined));

    const began = performance.now();
    let opened = 0;
    let failed = 0;
    let firstError: string | undefined;
    const progress = setInterval(() => this.link.post({ type: "setup-progress", opened, failed }), 250);
    let next = 0;
    const opener = async () => {
      while (next < this.clients.length) {
        const i = next++;
        const source = setup.sourceAddresses.length > 0 ? setup.sourceAddresses[i % setup.sourceAddresses.length] : undefined;
        try {
          const client = this.clients[i];
          if (client === undefined) break;
          await client.open(access, source, setup.connectTimeoutMs);
          opened++;
        } catch (err) {
          failed++;
          firstError ??= (err as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, setup.connectConcurrency) }, opener));
    clearInterval(progress);

    if (setup.churn) {
      this.churn = new ChurnLoop(
        setup.churn,
        this,
        access,
        setup.sourceAddresses,
        setup.connectTimeoutMs,
        this.readBuffer,
        (micros) => recordMicros(this.churnLatency, micros),
      );
    }
    this.timers.push(setInterval(() => this.tick(), setup.tickMs));
    const relayedHere = this.subscribers.some((s) => relayed.has(s.channel));
    if (relayedHere) this.timers.push(setInterval(() => this.reportFloors(relayed), floorReportMs));
    this.link.post({ type: "ready", opened, failed, firstError, openMs: performance.now() - began });
  }

  private reset(epoch: number): void {
    this.epoch = epoch;
    this.phase = emptyTally();
    this.latency.reset();
    this.churnLatency.reset();
    // whatever a previous phase still owed counts as lost there; a late arrival is a duplicate here
    for (const s of this.subscribers) s.lastSeq = Math.max(s.lastSeq, this.owed[s.channel] ?? 0);
    if (this.churn) this.churnAtPhaseStart = { cycles: this.churn.tally.cycles, failures: this.churn.tally.failures };
    this.link.post({ type: "reset-done" });
  }

  private start(message: StartMessage): void {
    if (message.churn) this.churn?.start();
    this.pacer.start(message.ratePerSec, message.window);
  }

  private stop(): void {
    this.pacer.stop();
    this.churn?.stop();
    const lastSeq: Record<string, number> = {};
    for (const c of this.clients) if (c.encoder) lastSeq[c.channel] = c.seq;
    this.link.post({ type: "stopped", counters: this.counters(), lastSeq });
  }

  private drain(message: DrainMessage): void {
    const { lastSeq } = message;
    this.owed = { ...lastSeq };
    const deadline = performance.now() + message.timeoutMs;
    const settled = () =>
      this.subscribers.every((s) => !s.isOpen || s.lastSeq >= (lastSeq[s.channel] ?? 0)) &&
      this.clients.every((c) => !c.encoder || !c.isOpen || c.replies >= c.seq);
    const poll = () => {
      if (!settled() && performance.now() < deadline) {
        setTimeout(poll, drainPollMs);
        return;
      }
      let tail = 0;
      for (const s of this.subscribers) tail += Math.max(0, (lastSeq[s.channel] ?? 0) - s.lastSeq);
      const churn = this.churn?.tally;
      const counts: PhaseCounts = {
        published: this.phase.published,
        acks: this.phase.acks,
        errors: this.phase.errors,
        firstError: this.phase.firstError ?? (churn?.failures ? churn.firstError : undefined),
        received: this.phase.received,
        duplicates: this.phase.duplicates,
        gaps: this.phase.gaps,
        tail,
        churnCycles: (churn?.cycles ?? 0) - this.churnAtPhaseStart.cycles,
        churnFailures: (churn?.failures ?? 0) - this.churnAtPhaseStart.failures,
        churnDeliveries: this.phase.churnDeliveries,
        dropped: this.phase.dropped,
        closeCodes: this.phase.closeCodes,
      };
      this.link.post({
        type: "drained",
        counts,
        counters: this.counters(),
        latency: this.takeLatency(),
        epoch: this.epoch,
        churnLatency: encodeHistogram(this.churnLatency),
      });
    };
    poll();
  }

  private async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.pacer.stop();
    this.churn?.closeAll();
    for (const c of this.clients) c.close();
    const deadline = performance.now() + 2000;
    while (this.clients.some((c) => c.isOpen) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const c of this.clients) c.terminate();
    this.link.exit(0);
  }

  private tick(): void {
    this.link.post({ type: "tick", epoch: this.epoch, counters: this.counters(), latency: this.takeLatency() });
  }

  /** The latencies recorded since the last call, encoded; the histogram starts over. */
  private takeLatency(): string {
    const encoded = encodeHistogram(this.latency);
    this.latency.reset();
    return encoded;
  }

  private reportFloors(relayed: ReadonlySet<string>): void {
    const floors: Record<string, number> = {};
    for (const s of this.subscribers) {
      if (!relayed.has(s.channel) || !s.isOpen) continue;
      const seen = floors[s.channel];
      floors[s.channel] = seen === undefined ? s.lastSeq : Math.min(seen, s.lastSeq);
    }
    let changed = false;
    for (const [channel, floor] of Object.entries(floors)) if (this.lastFloors[channel] !== floor) changed = true;
    if (!changed) return;
    this.lastFloors = floors;
    this.link.post({ type: "floor", floors });
  }

  private counters(): Counters {
    const t = this.total;
    let open = 0;
    for (const c of this.clients) if (c.isOpen) open++;
    return {
      published: t.published,
      acks: t.acks,
      errors: t.errors,
      received: t.received,
      churnCycles: this.churn?.tally.cycles ?? 0,
      churnFailures: this.churn?.tally.failures ?? 0,
      open,
      dropped: t.dropped,
    };
  }
}

const link = workerLink();
const worker = new Worker(link);
link.onMessage((message) => worker.handle(message));
