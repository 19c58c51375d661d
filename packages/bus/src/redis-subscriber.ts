import { Redis, type RedisOptions } from "ioredis";
import { withDeadline } from "./redis-deadline.js";
import { runIdOf } from "./redis-link.js";

/** ioredis's options as its constructor takes them. */
export type ConnectionOptions = Omit<RedisOptions, "replyMapping">;

/** Subscribing many channels at once takes one SUBSCRIBE per this many. */
const subscribeBatch = 500;

export interface SubscriberOptions {
  /** The connection: address (or Sentinel), credentials, timeouts, reconnects. */
  readonly redis: ConnectionOptions;
  /** SUBSCRIBE (one server) or SSUBSCRIBE (a Cluster master, one command per channel). */
  readonly sharded: boolean;
  readonly timeoutMs: number;
  /** A generation number unique across the link's subscriber connections. */
  nextGeneration(): number;
  readonly events: {
    message(channel: Buffer, payload: Buffer): void;
    /** Up: a fresh connection (new generation) with no subscriptions. Transitions only. */
    changed(up: boolean): void;
    error(err: Error): void;
    /** Redis dropped shard channels of its own accord: their slot moved to another master. */
    moved?(): void;
  };
}

/** The subscriber connection now up: its generation and the server it reached. */
interface Up {
  readonly gen: number;
  readonly runId: string;
}

/** Thrown for a subscriber connection that is gone: what was asked of it will never happen there. */
export class SubscriberGoneError extends Error {
  constructor() {
    super("the Redis subscriber connection is gone");
    this.name = "SubscriberGoneError";
  }
}

/**
 * One shard's subscriber connection. Each time it (re)connects it reads the server's run id
 * (before it enters subscriber mode), then counts as up with a new generation and no
 * subscriptions (ioredis's own resubscription is off): whoever uses it subscribes again and
 * knows when that is done. Commands name the generation they are meant for, so nothing
 * asked of a lost connection is taken for done on its successor.
 */
export class SubscriberConnection {
  private conn: Redis;
  private up: Up | undefined;
  /** The PING not sent yet, which every caller until it goes out shares. */
  private queuedPing: { readonly gen: number; readonly done: Promise<void> } | undefined;
  private closed = false;

  constructor(private readonly options: SubscriberOptions) {
    this.conn = this.open();
  }

  /** The generation of the connection while it is up. */
  get generation(): number | undefined {
    return this.up?.gen;
  }

  /** The run id of the server that generation `gen` reached, while it is the one up. */
  runId(gen: number): string | undefined {
    return this.up?.gen === gen ? this.up.runId : undefined;
  }

  async subscribe(gen: number, channels: readonly string[]): Promise<void> {
    const conn = this.connOf(gen);
    const sent: Promise<unknown>[] = [];
    if (this.options.sharded) {
      // SSUBSCRIBE takes channels of one slot only: one command per channel.
      for (const channel of channels) sent.push(conn.ssubscribe(channel));
    } else {
      for (let i = 0; i < channels.length; i += subscribeBatch)
        sent.push(conn.subscribe(...channels.slice(i, i + subscribeBatch)));
    }
    await withDeadline(Promise.all(sent), this.options.timeoutMs, this.options.sharded ? "SSUBSCRIBE" : "SUBSCRIBE");
    if (this.up?.gen !== gen) throw new SubscriberGoneError();
  }

  unsubscribe(gen: number, channel: string): Promise<void> {
    if (this.up?.gen !== gen) return Promise.resolve();
    const sent = this.options.sharded ? this.conn.sunsubscribe(channel) : this.conn.unsubscribe(channel);
    // Settles when Redis answered, or when the connection closed (ioredis then fails what it had sent).
    return sent.then(noop, noop);
  }

  ping(gen: number): Promise<void> {
    let conn: Redis;
    try {
      conn = this.connOf(gen);
    } catch (err) {
      return Promise.reject(err);
    }
    const queued = this.queuedPing;
    if (queued?.gen === gen) return queued.done;
    const next = {
      gen,
      done: new Promise<void>((resolve, reject) => {
        setImmediate(() => {
          if (this.queuedPing === next) this.queuedPing = undefined;
          withDeadline(conn.ping(), this.options.timeoutMs, "PING").then(() => resolve(), reject);
        });
      }),
    };
    this.queuedPing = next;
    return next.done;
  }

  /** Drops the connection and opens a new one: reported down (if it was up), later up. */
  rebuild(): void {
    if (this.closed) return;
    this.drop();
    this.conn = this.open();
  }

  async close(): Promise<void> {
    this.closed = true;
    const conn = this.conn;
    this.up = undefined;
    conn.removeAllListeners();
    conn.on("error", noop);
    await conn.quit().catch(noop);
    conn.disconnect();
  }

  private connOf(gen: number): Redis {
    if (this.up?.gen !== gen) throw new SubscriberGoneError();
    return this.conn;
  }

  private open(): Redis {
    const { events } = this.options;
    const conn = new Redis(this.options.redis);
    conn.on(this.options.sharded ? "smessageBuffer" : "messageBuffer", events.message);
    conn.on("ready", () => this.connected(conn));
    conn.on("close", () => this.lost(conn));
    conn.on("error", (err: Error) => events.error(err));
    if (events.moved) conn.on("moved", events.moved);
    return conn;
  }

  /** Reads the run id, then reports up; a connection that cannot tell is reconnected. */
  private connected(conn: Redis): void {
    withDeadline(conn.info("server"), this.options.timeoutMs, "INFO")
      .then(runIdOf)
      .then(
        (runId) => {
          if (conn !== this.conn || conn.status !== "ready" || this.up !== undefined) return;
          this.up = { gen: this.options.nextGeneration(), runId };
          this.options.events.changed(true);
        },
        (err: Error) => {
          if (conn !== this.conn) return;
          this.options.events.error(err);
          if (conn.status === "ready") conn.disconnect(true);
        },
      );
  }

  private lost(conn: Redis): void {
    if (conn !== this.conn || this.up === undefined) return;
    this.up = undefined;
    this.queuedPing = undefined;
    this.options.events.changed(false);
  }

  private drop(): void {
    const old = this.conn;
    old.removeAllListeners();
    old.on("error", noop);
    old.disconnect();
    const was = this.up;
    this.up = undefined;
    this.queuedPing = undefined;
    if (was !== undefined) this.options.events.changed(false);
  }
}

function noop(): void {}
