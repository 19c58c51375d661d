import { createHistogram, type Histogram, mergeEncoded } from "./histogram.js";
import type { Counters, FromWorker, SetupMessage, ToWorker } from "./messages.js";
import { spawnWorker, type WorkerHandle, type WorkerKind } from "./worker-pool.js";

type Reply<T extends FromWorker["type"]> = Extract<FromWorker, { type: T }>;

const zero: Counters = {
  published: 0,
  acks: 0,
  errors: 0,
  received: 0,
  churnCycles: 0,
  churnFailures: 0,
  open: 0,
  dropped: 0,
};

/** Adds counters field by field. */
export function sumCounters(all: readonly Counters[]): Counters {
  const total = { ...zero };
  for (const c of all) for (const key of Object.keys(total) as (keyof Counters)[]) total[key] += c[key];
  return total;
}

/**
 * The coordinator's view of its workers: sends commands to all, waits for every worker's
 * answer, keeps their latest counters, merges the latency ticks of the current epoch and
 * relays flow-control floors from subscribers to publishers.
 */
export class WorkerGroup {
  readonly workers: WorkerHandle[];
  /** Latest cumulative counters per worker. */
  readonly counters: Counters[];
  /** Connections each worker has opened so far during setup. */
  private readonly setupOpened: number[];
  /** Latencies of the epoch being measured, merged from every tick. */
  histogram: Histogram = createHistogram();
  private epoch = 0;
  private readonly waiting = new Map<string, { replies: FromWorker[]; count: number; done: (r: FromWorker[]) => void }>();
  /** floors[channel][worker]: the lowest sequence number that worker's subscribers of the channel saw. */
  private readonly floors = new Map<string, Map<number, number>>();
  private failure: ((err: Error) => void) | undefined;
  readonly failed: Promise<never>;
  /** Called on every setup-progress and tick, for live progress. */
  onUpdate: () => void = () => {};

  constructor(
    kind: WorkerKind,
    count: number,
    /** For each relayed channel, the workers that hold its subscribers and the one that holds its publisher. */
    private readonly relays: ReadonlyMap<string, { subscriberWorkers: readonly number[]; publisherWorker: number }>,
  ) {
    this.workers = Array.from({ length: count }, (_, i) => spawnWorker(kind, i));
    this.counters = this.workers.map(() => ({ ...zero }));
    this.setupOpened = this.workers.map(() => 0);
    this.failed = new Promise<never>((_, reject) => {
      this.failure = reject;
    });
    this.failed.catch(() => {});
    for (const w of this.workers) {
      w.onMessage((m) => this.receive(w.index, m));
      void w.exited.then((code) => {
        if (code !== 0) this.failure?.(new Error(`load worker ${w.index} exited with code ${code}`));
      });
    }
  }

  /** Connections opened by all workers during setup, as last reported. */
  opened(): number {
    return this.setupOpened.reduce((a, b) => a + b, 0);
  }

  /** The epoch whose latency ticks are kept; older ones are dropped. */
  setEpoch(epoch: number): void {
    this.epoch = epoch;
    this.histogram = createHistogram();
  }

  post(messages: ToWorker | ((index: number) => ToWorker)): void {
    for (const w of this.workers) w.post(typeof messages === "function" ? messages(w.index) : messages);
  }

  /** Resolves with every worker's next message of `type`, in worker order. */
  collect<T extends FromWorker["type"]>(type: T, timeoutMs: number): Promise<Reply<T>[]> {
    const replies: FromWorker[] = [];
    const wait = new Promise<FromWorker[]>((resolve) => this.waiting.set(type, { replies, count: 0, done: resolve }));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`load workers did not answer "${type}" within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([wait, timeout, this.failed]).finally(() => clearTimeout(timer)) as Promise<Reply<T>[]>;
  }

  /** Asks every worker to close its connections and exit; kills those that do not within the grace. */
  async close(graceMs = 5000): Promise<void> {
    this.post({ type: "close" });
    const timer = setTimeout(() => {
      for (const w of this.workers) w.kill();
    }, graceMs);
    await Promise.all(this.workers.map((w) => w.exited));
    clearTimeout(timer);
  }

  kill(): void {
    for (const w of this.workers) w.kill();
  }

  private receive(index: number, message: FromWorker): void {
    switch (message.type) {
      case "tick":
        this.counters[index] = message.counters;
        if (message.epoch === this.epoch) mergeEncoded(this.histogram, message.latency);
        this.onUpdate();
        break;
      case "setup-progress":
        this.setupOpened[index] = message.opened;
        this.onUpdate();
        break;
      case "floor":
        this.relayFloors(index, message.floors);
        return;
      case "fatal":
        this.failure?.(new Error(`load worker ${index}: ${message.message}`));
        return;
      case "marked":
      case "stopped":
        this.counters[index] = message.counters;
        break;
      case "drained":
        this.counters[index] = message.counters;
        if (message.epoch === this.epoch) mergeEncoded(this.histogram, message.latency);
        break;
      case "ready":
      case "reset-done":
        break;
    }
    const wait = this.waiting.get(message.type);
    if (!wait) return;
    wait.replies[index] = message;
    if (++wait.count === this.workers.length) {
      this.waiting.delete(message.type);
      wait.done(wait.replies);
    }
  }

  private relayFloors(worker: number, floors: Readonly<Record<string, number>>): void {
    const targets = new Map<number, Record<string, number>>();
    for (const [channel, floor] of Object.entries(floors)) {
      const relay = this.relays.get(channel);
      if (!relay) continue;
      let perWorker = this.floors.get(channel);
      if (!perWorker) {
        perWorker = new Map();
        this.floors.set(channel, perWorker);
      }
      perWorker.set(worker, floor);
      let min = Number.POSITIVE_INFINITY;
      for (const w of relay.subscriberWorkers) min = Math.min(min, perWorker.get(w) ?? 0);
      const t = targets.get(relay.publisherWorker) ?? {};
      t[channel] = min;
      targets.set(relay.publisherWorker, t);
    }
    for (const [w, f] of targets) this.workers[w]?.post({ type: "floor", floors: f });
  }
}

/** Splits the plan's connections over the workers round-robin, and works out the floor relays. */
export function distribute(
  conns: SetupMessage["conns"],
  workers: number,
  relayed: ReadonlySet<string>,
): {
  perWorker: SetupMessage["conns"][];
  relays: Map<string, { subscriberWorkers: number[]; publisherWorker: number }>;
} {
  const perWorker: SetupMessage["conns"][number][][] = Array.from({ length: workers }, () => []);
  const relays = new Map<string, { subscriberWorkers: number[]; publisherWorker: number }>();
  conns.forEach((c, i) => {
    const w = i % workers;
    perWorker[w]?.push(c);
    if (!relayed.has(c.channel)) return;
    let relay = relays.get(c.channel);
    if (!relay) {
      relay = { subscriberWorkers: [], publisherWorker: -1 };
      relays.set(c.channel, relay);
    }
    if (c.subscribe && !relay.subscriberWorkers.includes(w)) relay.subscriberWorkers.push(w);
    if (c.publish) relay.publisherWorker = w;
  });
  return { perWorker, relays };
}
